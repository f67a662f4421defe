//! Results for the output tests (CSV, table): a measured case whose every
//! figure differs, a skipped one and one that failed its limits.

use super::CaseResult;
use crate::accuracy::AccuracyDeltas;
use crate::model::perplexity::Perplexity;
use crate::runner::protocol::{CPU, Series, WorkerReport};
use crate::runner::summarize::summarize;
use crate::scenario::parse_str;

pub fn results() -> Vec<CaseResult> {
    let s = parse_str(
        "batch = 7\nseq_len = 9\nthreads = 3\nprecisions = ['f32', 'f16']\n\
         [accuracy]\nmax_rel_l2 = 0.1",
        std::path::Path::new("s.toml"),
        "s",
        1,
    )
    .expect("the fixture scenario is valid");
    let mut report = WorkerReport::empty();
    report.series = vec![
        Series::wall_ns(vec![2_000_000, 4_000_000]),
        Series {
            values: vec![1_000_000, 3_000_000],
            ..Series::new(CPU, "ns")
        },
    ];
    report.load_ms = Some(12.5);
    report.peak_rss_bytes = Some(4242 << 20);
    report.nonfinite_outputs = Some(6);
    report.perplexity = Some(Perplexity {
        value: 27.5,
        reference: Some(27.25),
        windows: 2,
        scored_tokens: 126,
    });
    let accuracy = AccuracyDeltas {
        max_abs: 0.25,
        rel_l2: 0.0625,
        cosine: 0.5,
        cosine_mean: Some(0.75),
        top1: 0.75,
        kl: 0.0625,
        ppl_ratio: Some(1.5),
        nonfinite: 0,
    };
    report.accuracy = Some(accuracy);
    let mut measured = summarize(&s.cases[0], report.clone());
    // As `run --peak` sets it.
    measured.peak_fraction = Some(0.375);
    report.accuracy = Some(AccuracyDeltas {
        rel_l2: 0.125,
        ..accuracy
    });
    let failed = summarize(&s.cases[1], report);
    let skipped = summarize(
        &s.cases[1],
        WorkerReport::skipped("backend `candle` does not run f16 here".into()),
    );
    vec![measured, failed, skipped]
}
