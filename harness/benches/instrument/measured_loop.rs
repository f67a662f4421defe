//! The measured loop on the null session: per pass, two clocks read twice
//! and one virtual call that returns at once. criterion reports the time
//! per pass (throughput in elements: passes).

use criterion::{Criterion, Throughput};
use inferbench::runner::measurement;
use inferbench::runner::worker::measure;
use inferbench::scenario::parse_str;
use inferbench_backend::{Backend, Device, LoadOptions, ModelSource, NullBackend, Precision};

const PASSES: u64 = 10_000;

pub fn bench(c: &mut Criterion) {
    let scenario = format!(
        "backends = 'null'\nbatch = 1\nseq_len = 1\nthreads = 1\n[model]\nvocab_size = 8\n\
         hidden = 4\nlayers = 1\nheads = 1\nmax_seq = 4\n[measurement]\n\
         min_iterations = {PASSES}\nmax_iterations = {PASSES}\nmin_seconds = 0.0\n"
    );
    let loaded = parse_str(&scenario, "null.toml".as_ref(), "null", 1).expect("valid scenario");
    let case = &loaded.cases[0];
    let source = ModelSource::SyntheticGpt {
        spec: case.model.spec,
        weights: "never-read.safetensors".into(),
        cache_dir: std::env::temp_dir(),
    };
    let options = LoadOptions {
        device: Device::Cpu,
        precision: Precision::F32,
        threads: 1,
        options: Default::default(),
    };
    let mut session = NullBackend.load(&source, &options).expect("null loads");
    let input = inferbench_backend::TokenBatch::step(&[1]);
    session.prepare(&input).expect("one token is a valid batch");
    let mut group = c.benchmark_group("measured_loop");
    group.throughput(Throughput::Elements(PASSES));
    for (name, clocks) in [
        ("wall+cpu", measurement::standard().to_vec()),
        (
            "wall",
            vec![&measurement::WallTime as &dyn measurement::Measurement],
        ),
    ] {
        group.bench_function(name, |b| {
            b.iter(|| {
                let mut series = Vec::new();
                measure(session.as_mut(), case, &clocks, &mut series).expect("null runs");
                series
            })
        });
    }
    group.finish();
}
