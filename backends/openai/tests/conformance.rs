//! The trait crate's conformance suite on the openai backend: it loads
//! nothing in process, so only the checks that fit a served model apply.

use inferbench_backend::conformance::{self, UNSUPPORTED_IS_A_CLEAN_NO};
use inferbench_reference::synthetic_weights::conformance_fixture;

#[test]
fn openai_passes_the_conformance_checks_that_fit_it() {
    let dir = tempfile::tempdir().unwrap();
    let fixture = conformance_fixture(dir.path()).unwrap();
    let report = conformance::run(&inferbench_openai::OpenAiBackend, &fixture)
        .unwrap_or_else(|f| panic!("{f}"));
    assert_eq!(report.passed, [UNSUPPORTED_IS_A_CLEAN_NO]);
    assert_eq!(
        report.not_applicable.len(),
        6,
        "{:?}",
        report.not_applicable
    );
}
