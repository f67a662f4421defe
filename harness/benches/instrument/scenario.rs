//! Parsing and expanding a scenario of 10,000 cases (the default
//! `max_cases`): 10 batch sizes × 10 sequence lengths × 10 thread counts
//! × 10 seeds... as lists of one scenario file.

use criterion::Criterion;
use inferbench::scenario::parse_str;

pub fn bench(c: &mut Criterion) {
    let list = |start: usize| {
        let items: Vec<String> = (start..start + 10).map(|v| v.to_string()).collect();
        format!("[{}]", items.join(", "))
    };
    let source = format!(
        "backends = ['candle', 'ort', 'tch', 'null']\nprecisions = ['f32', 'f16', 'bf16', 'int8', 'q8_0']\n\
         batch = {}\nseq_len = {}\nthreads = {}\n",
        list(1),
        list(8),
        // 4 backends × 5 precisions × 10 × 10 × 5 threads = 10,000 cases.
        "[1, 2, 3, 4, 5]"
    );
    let loaded = parse_str(&source, "m.toml".as_ref(), "m", 2).expect("valid scenario");
    assert_eq!(loaded.cases.len(), 10_000);
    let mut group = c.benchmark_group("scenario");
    group.sample_size(10);
    group.bench_function("expand_10000_cases", |b| {
        b.iter(|| parse_str(&source, "m.toml".as_ref(), "m", 2).map(|l| l.cases.len()))
    });
    group.finish();
}
