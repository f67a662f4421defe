//! The trait crate's conformance suite on the candle backend.

use inferbench_backend::conformance::{IN_PROCESS_DECODER, assert_passes};
use inferbench_reference::synthetic_weights::conformance_fixture;

#[test]
fn candle_passes_the_conformance_suite() {
    let dir = tempfile::tempdir().unwrap();
    let fixture = conformance_fixture(dir.path()).unwrap();
    assert_passes(
        &inferbench_candle::CandleBackend,
        &fixture,
        IN_PROCESS_DECODER,
    );
}
