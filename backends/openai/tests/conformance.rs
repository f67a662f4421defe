//! The trait crate's conformance suite on the openai backend: it loads
//! nothing in process, so only the checks that fit a served model apply.

use inferbench_backend::conformance::{UNSUPPORTED_IS_A_CLEAN_NO, assert_passes};
use inferbench_reference::synthetic_weights::conformance_fixture;

#[test]
fn openai_passes_the_conformance_checks_that_fit_it() {
    let dir = tempfile::tempdir().unwrap();
    let fixture = conformance_fixture(dir.path()).unwrap();
    let backend = inferbench_openai::OpenAiBackend;
    assert_passes(&backend, &fixture, &[UNSUPPORTED_IS_A_CLEAN_NO]);
}
