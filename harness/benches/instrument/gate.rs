//! The gate's bootstrap for a 50-case run: each case's base and candidate
//! samples resampled 2,000 times, the ratio intervals of its four
//! statistics (p5, p50, p99, mean). With 10,000 samples a case, as fast
//! cases record, it must stay well under a second.

use criterion::Criterion;
use inferbench::gate::bootstrap::{BootstrapSettings, ratio_intervals};

use crate::data::latencies;

const CASES: u64 = 50;

/// One case's base and candidate, each as its runs' samples (one run).
type Sides = (Vec<Vec<f64>>, Vec<Vec<f64>>);

pub fn bench(c: &mut Criterion) {
    let settings = BootstrapSettings {
        resamples: 2000,
        confidence: 0.9875,
        seed: 7,
    };
    let mut group = c.benchmark_group("gate");
    group.sample_size(10);
    for samples in [1_000, 10_000] {
        let sides: Vec<Sides> = (0..CASES)
            .map(|i| {
                let base = latencies(samples, 10.0, 2 * i);
                let candidate = latencies(samples, 10.5, 2 * i + 1);
                (vec![base], vec![candidate])
            })
            .collect();
        group.bench_function(format!("bootstrap_50_cases_{samples}_samples"), |b| {
            b.iter(|| {
                sides
                    .iter()
                    .map(|(base, candidate)| ratio_intervals(base, candidate, settings))
                    .collect::<Vec<_>>()
            })
        });
    }
    group.finish();
}
