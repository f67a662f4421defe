//! The trait crate's conformance suite on the tch backend.

use inferbench_backend::conformance::{
    IN_PROCESS_DECODER, UNAVAILABLE_IS_A_SKIP, UNSUPPORTED_IS_A_CLEAN_NO, assert_passes,
};
use inferbench_reference::synthetic_weights::conformance_fixture;

#[test]
fn tch_passes_the_conformance_suite() {
    let dir = tempfile::tempdir().unwrap();
    let fixture = conformance_fixture(dir.path()).unwrap();
    let expected: &[&str] = if cfg!(feature = "libtorch") {
        IN_PROCESS_DECODER
    } else {
        &[UNSUPPORTED_IS_A_CLEAN_NO, UNAVAILABLE_IS_A_SKIP]
    };
    assert_passes(&inferbench_tch::TchBackend, &fixture, expected);
}
