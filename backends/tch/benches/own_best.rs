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
use inferbench_backend::{
    Backend, GptSpec, LoadOptions, ModelSource, Precision, Session, TokenBatch,
};
use inferbench_reference::synthetic_weights::GptWeights;
use tch::{Kind, Tensor};

/// The quickstart's gpt-small.
const SPEC: GptSpec = GptSpec {
    vocab_size: 2048,
    hidden: 256,
    layers: 4,
    heads: 8,
    max_seq: 256,
    seed: 0,
};
const BATCH: usize = 8;
const SEQ: usize = 64;
const THREADS: usize = 2;

/// (rows, in, out) of each projection: c_attn, c_fc, mlp c_proj, lm_head.
const SHAPES: [(usize, usize, usize); 4] = [
    (512, 256, 768),
    (512, 256, 1024),
    (512, 1024, 256),
    (512, 256, 2048),
];

fn matmul(c: &mut Criterion) {
    tch::set_num_threads(THREADS as i32);
    let mut group = c.benchmark_group("tch_matmul");
    for (m, k, n) in SHAPES {
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
    let dir = tempfile::tempdir().expect("a temporary folder");
    let weights = dir.path().join("model.safetensors");
    GptWeights::generate(&SPEC)
        .write(&weights)
        .expect("weights written");
    let source = ModelSource::SyntheticGpt {
        spec: SPEC,
        weights,
        cache_dir: dir.path().to_path_buf(),
    };
    let options = LoadOptions {
        device: inferbench_backend::Device::Cpu,
        precision: Precision::F32,
        threads: THREADS,
        options: Default::default(),
    };
    let mut session: Box<dyn Session> = inferbench_tch::TchBackend
        .load(&source, &options)
        .expect("gpt-small loads");
    let ids = (0..BATCH * SEQ).map(|i| (i * 7919 % SPEC.vocab_size) as i64);
    let input = TokenBatch {
        batch: BATCH,
        seq_len: SEQ,
        ids: ids.collect(),
    };
    session.prepare(&input).expect("a valid batch");
    let mut group = c.benchmark_group("tch_model");
    group.throughput(Throughput::Elements(SPEC.flops_per_forward(BATCH, SEQ)));
    group.bench_function("gpt-small_b8_t64", |b| {
        b.iter(|| session.run().expect("forward pass"))
    });
    group.finish();
}

criterion_group!(benches, matmul, model);
criterion_main!(benches);
