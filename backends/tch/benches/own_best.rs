//! tch at its own best: libtorch's raw f32 matmul at the synthetic GPT's
//! projection shapes (quickstart model, batch 8 × 64 tokens = 512 rows),
//! and our adapter's whole forward pass of that model, in one criterion
//! run, as backends/candle/benches/own_best.rs does for candle. The
//! throughput is in FLOPs (2·m·k·n for a matmul), so both read as FLOP/s
//! and their ratio is the share of libtorch's own matmul rate the adapter
//! reaches over the whole model.
//!
//!     cargo bench -p inferbench-tch --features libtorch --bench own_best

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use inferbench_reference::fixtures::GptWorkload;
use tch::{Kind, Tensor};

fn matmul(c: &mut Criterion) {
    let workload = GptWorkload::quickstart_gpt_small();
    tch::set_num_threads(workload.threads as i32);
    let mut group = c.benchmark_group("tch_matmul");
    for (m, k, n) in workload.projection_shapes() {
        let x = Tensor::randn([m as i64, k as i64], (Kind::Float, tch::Device::Cpu));
        // Stored [out, in] and used transposed, as torch's Linear does.
        let w = Tensor::randn([n as i64, k as i64], (Kind::Float, tch::Device::Cpu));
        let wt = w.tr();
        group.throughput(Throughput::Elements((2 * m * k * n) as u64));
        group.bench_function(format!("{m}x{k}x{n}"), |b| b.iter(|| x.matmul(&wt)));
    }
    group.finish();
}

fn model(c: &mut Criterion) {
    GptWorkload::quickstart_gpt_small().bench_forward(c, "tch_model", &inferbench_tch::TchBackend);
}

criterion_group!(benches, matmul, model);
criterion_main!(benches);
