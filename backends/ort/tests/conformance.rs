//! The trait crate's conformance suite on the ort backend.

use inferbench_backend::conformance::{IN_PROCESS_DECODER, assert_passes};
use inferbench_reference::synthetic_weights::conformance_fixture;

/// ONNX Runtime is installed by `ci/setup.sh`, which the tests require.
#[test]
fn ort_passes_the_conformance_suite() {
    let dir = tempfile::tempdir().unwrap();
    let fixture = conformance_fixture(dir.path()).unwrap();
    assert_passes(&inferbench_ort::OrtBackend, &fixture, IN_PROCESS_DECODER);
}

/// ONNX Runtime's own MatMul (a one-node graph) multiplies: f32 always;
/// f16 where this library has a CPU kernel for it.
#[test]
fn ort_matmul_is_the_product() {
    use inferbench_backend::Precision;
    let multiplied =
        inferbench_backend::conformance::matmul_matches(&inferbench_ort::OrtBackend, 2).unwrap();
    assert_eq!(multiplied, [Precision::F32, Precision::F16]);
}
