//! Writing a 1,000-case run: results.csv appended row by row, and
//! results.json (every case with its 1,000 wall and CPU samples) once.
//! The run folder rewrites results.json after each case, so a run of n
//! cases pays about n/2 times this figure in all.

use criterion::Criterion;
use inferbench::results::json::{FORMAT, RunDocument, write};
use inferbench::results::{CaseResult, csv::CsvSink, environment::Environment};
use inferbench::runner::protocol::{CPU, Series, WorkerReport};
use inferbench::runner::summarize::summarize;
use inferbench::scenario::parse_str;

use crate::data::latencies;

fn results() -> Vec<CaseResult> {
    let source = "backends = 'null'\nbatch = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]\n\
                  seq_len = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]\nthreads = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]\n";
    let loaded = parse_str(source, "r.toml".as_ref(), "r", 1).expect("valid scenario");
    loaded
        .cases
        .iter()
        .enumerate()
        .map(|(i, case)| {
            let ns = |seed| {
                latencies(1000, 1e6, seed)
                    .iter()
                    .map(|&x| x as u64)
                    .collect()
            };
            let mut report = WorkerReport::empty();
            report.series = vec![
                Series::wall_ns(ns(2 * i as u64)),
                Series {
                    values: ns(2 * i as u64 + 1),
                    ..Series::new(CPU, "ns")
                },
            ];
            report.load_ms = Some(1.0);
            summarize(case, report)
        })
        .collect()
}

pub fn bench(c: &mut Criterion) {
    let cases = results();
    assert_eq!(cases.len(), 1000);
    let dir = tempfile::tempdir().expect("a temporary folder");
    let doc = RunDocument {
        format: FORMAT.into(),
        run_id: "bench".into(),
        scenario: "r".into(),
        started_at: "2026-01-01T00:00:00Z".into(),
        finished_at: None,
        interrupted: None,
        environment: Environment::capture("r.toml", ""),
        cases,
    };
    let mut group = c.benchmark_group("results");
    group.sample_size(10);
    group.bench_function("csv_1000_cases", |b| {
        b.iter(|| {
            let mut sink = CsvSink::create(&dir.path().join("results.csv")).expect("writable");
            for case in &doc.cases {
                sink.append(case).expect("writable");
            }
        })
    });
    group.bench_function("json_1000_cases", |b| {
        b.iter(|| write(&dir.path().join("results.json"), &doc).expect("writable"))
    });
    group.finish();
}
