//! A case's summary (sort, percentiles, mean, stddev) of 10⁶ samples.

use criterion::Criterion;
use inferbench::stats::Summary;

use crate::data::latencies;

pub fn bench(c: &mut Criterion) {
    let samples = latencies(1_000_000, 1.0, 1);
    let mut group = c.benchmark_group("stats");
    group.sample_size(20);
    group.bench_function("summary_1e6", |b| b.iter(|| Summary::of(&samples)));
    group.finish();
}
