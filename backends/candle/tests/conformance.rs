//! The trait crate's conformance suite on the candle backend.

use inferbench_backend::conformance::{self, *};
use inferbench_reference::synthetic_weights::conformance_fixture;

#[test]
fn candle_passes_the_conformance_suite() {
    let dir = tempfile::tempdir().unwrap();
    let fixture = conformance_fixture(dir.path()).unwrap();
    let report = conformance::run(&inferbench_candle::CandleBackend, &fixture)
        .unwrap_or_else(|f| panic!("{f}"));
    let expected: &[&str] = &[
        UNSUPPORTED_IS_A_CLEAN_NO,
        F32_MATCHES_THE_REFERENCE,
        OUTPUTS_BEFORE_RUN_IS_AN_ERROR,
        BAD_INPUT_IS_AN_ERROR,
        DECODER_MATCHES_RECOMPUTATION,
        BAD_DECODER_INPUT_IS_AN_ERROR,
    ];
    assert_eq!(
        report.passed, expected,
        "not applicable: {:?}",
        report.not_applicable
    );
}
