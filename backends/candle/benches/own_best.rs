//! candle at its own best: candle's raw f32 matmul at the synthetic GPT's
//! projection shapes (quickstart model, batch 8 × 64 tokens = 512 rows),
//! and our adapter's whole forward pass of that model, in one criterion
//! run. criterion's throughput is in elements, here FLOPs (2·m·k·n for a
//! matmul), so both read as FLOP/s and their ratio is the share of
//! candle's own matmul rate the adapter reaches over the whole model.
//!
//!     RAYON_NUM_THREADS=2 cargo bench -p inferbench-candle --bench own_best

use candle_core::{Device, Tensor};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use inferbench_reference::fixtures::GptWorkload;

fn matmul(c: &mut Criterion) {
    let mut group = c.benchmark_group("candle_matmul");
    for (m, k, n) in GptWorkload::quickstart_gpt_small().projection_shapes() {
        let x = Tensor::randn(0f32, 1.0, (m, k), &Device::Cpu).expect("tensor");
        // Stored [out, in] and used transposed, as candle_nn::Linear does.
        let w = Tensor::randn(0f32, 1.0, (n, k), &Device::Cpu).expect("tensor");
        let wt = w.t().expect("transpose");
        group.throughput(Throughput::Elements((2 * m * k * n) as u64));
        group.bench_function(format!("{m}x{k}x{n}"), |b| {
            b.iter(|| x.matmul(&wt).expect("matmul"))
        });
    }
    group.finish();
}

fn model(c: &mut Criterion) {
    GptWorkload::quickstart_gpt_small().bench_forward(
        c,
        "candle_model",
        &inferbench_candle::CandleBackend,
    );
}

criterion_group!(benches, matmul, model);
criterion_main!(benches);
