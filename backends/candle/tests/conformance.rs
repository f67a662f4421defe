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

#[test]
fn candle_matmul_is_the_product_in_every_dtype_and_refuses_another_thread_count() {
    use inferbench_backend::{Backend, MatmulSpec, Precision};
    let backend = inferbench_candle::CandleBackend;
    let threads = candle_core::utils::get_num_threads();
    let multiplied = inferbench_backend::conformance::matmul_matches(&backend, threads).unwrap();
    assert_eq!(
        multiplied,
        [Precision::F32, Precision::F16, Precision::Bf16]
    );
    let other = MatmulSpec::square(8, Precision::F32, threads + 1);
    let refused = backend.matmul(&other).err().unwrap();
    assert!(
        refused.to_string().contains("RAYON_NUM_THREADS"),
        "{refused}"
    );
    let int8 = MatmulSpec::square(8, Precision::Int8, threads);
    assert!(backend.matmul(&int8).err().unwrap().is_skip());
}
