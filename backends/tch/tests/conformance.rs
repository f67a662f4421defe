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

/// libtorch's own matmul multiplies in f32, f16 and bf16; without the
/// feature the stand-in says tch is not compiled in.
#[test]
fn tch_matmul_is_the_product() {
    use inferbench_backend::{Backend, MatmulSpec, Precision};
    let backend = inferbench_tch::TchBackend;
    if cfg!(feature = "libtorch") {
        let multiplied = inferbench_backend::conformance::matmul_matches(&backend, 2).unwrap();
        assert_eq!(
            multiplied,
            [Precision::F32, Precision::F16, Precision::Bf16]
        );
    } else {
        let spec = MatmulSpec::square(8, Precision::F32, 1);
        let e = backend.matmul(&spec).err().unwrap().to_string();
        assert!(e.contains("not compiled in"), "{e}");
    }
}
