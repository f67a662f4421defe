//! E-divisive change points on 500 history points (199 permutations per
//! test, the default), with two level shifts to find.

use criterion::Criterion;
use inferbench::history::edivisive::{EDivisive, change_points};

use crate::data::latencies;

pub fn bench(c: &mut Criterion) {
    let mut series = latencies(500, 10.0, 3);
    for (i, x) in series.iter_mut().enumerate() {
        *x *= match i {
            0..200 => 1.0,
            200..350 => 1.3,
            _ => 1.1,
        };
    }
    let mut group = c.benchmark_group("history");
    group.sample_size(10);
    group.bench_function("edivisive_500_points", |b| {
        b.iter(|| change_points(&series, &EDivisive::default()))
    });
    group.finish();
}
