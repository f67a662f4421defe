//! The peak table as `inferbench peak` prints it.

use super::{PeakOutcome, PeakReport};

/// The FMA lines: the loop's rate per core and in all, the clock and
/// what width × clock makes of it.
fn fma_lines(report: &PeakReport) -> String {
    let Some(f) = &report.fma else {
        return "FMA loop: none for this architecture\n".into();
    };
    let mut out = format!(
        "FMA loop, {} ({} f32 lanes; widest extension: {}):\n  1 thread: {:.1} GFLOP/s a core\n  {} threads: {:.1} GFLOP/s in all, {:.1} a core\n",
        f.isa,
        f.lanes,
        f.widest,
        f.per_core_gflop_per_s,
        f.threads,
        f.all_gflop_per_s,
        f.all_gflop_per_s / f.threads as f64
    );
    if let (Some(clock), Some(per_cycle), Some(nominal)) =
        (f.clock_ghz, f.fma_per_cycle(), f.nominal_per_core())
    {
        out.push_str(&format!(
            "  clock {clock:.2} GHz: the loop retires {per_cycle:.2} FMAs a cycle; \
             {} lanes x 2 FLOPs x {:.0} a cycle x {clock:.2} GHz = {nominal:.1} GFLOP/s a core nominal, {:.1} on {} cores\n",
            f.lanes,
            per_cycle.round().max(1.0),
            nominal * f.threads as f64,
            f.threads
        ));
    }
    out
}

/// The FMA lines, one row per backend, precision and thread count (with
/// its share of the FMA loop's rate on as many threads), then the
/// runtimes and why rows were not measured.
pub fn render(report: &PeakReport) -> String {
    let mut out = fma_lines(report);
    let header = [
        "backend",
        "precision",
        "threads",
        "GFLOP/s",
        "size",
        "of FMA",
    ];
    let mut rows: Vec<Vec<String>> = vec![header.iter().map(|s| s.to_string()).collect()];
    let mut notes: Vec<String> = Vec::new();
    let mut runtimes: Vec<String> = Vec::new();
    for r in &report.rows {
        let (rate, size) = match &r.outcome {
            PeakOutcome::Measured {
                gflop_per_s, size, ..
            } => (Some(*gflop_per_s), size.to_string()),
            PeakOutcome::NotMeasured { reason } => {
                let note = format!("{} not measured: {reason}", r.backend);
                if !notes.contains(&note) {
                    notes.push(note);
                }
                (None, "-".into())
            }
        };
        if let Some(v) = &r.runtime_version {
            let runtime = format!("{} runs {v}", r.backend);
            if !runtimes.contains(&runtime) {
                runtimes.push(runtime);
            }
        }
        let share = rate.zip(report.fma_rate(r.threads)).map(|(g, f)| g / f);
        rows.push(vec![
            r.backend.clone(),
            r.precision.to_string(),
            r.threads.to_string(),
            rate.map_or("-".into(), |g| format!("{g:.1}")),
            size,
            share.map_or("-".into(), |s| format!("{s:.2}")),
        ]);
    }
    out.push('\n');
    out.push_str(&crate::text_table::aligned(&rows, 2));
    for line in runtimes.iter().chain(&notes) {
        out.push_str(line);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::PeakRow;
    use super::super::fma::FmaPeak;
    use super::*;
    use inferbench_backend::Precision;

    #[test]
    fn snapshot() {
        let row = |backend: &str, precision, threads, outcome| PeakRow {
            backend: String::from(backend),
            runtime_version: (backend != "tch").then(|| format!("{backend} 1.0")),
            precision,
            threads,
            outcome,
        };
        let measured = |gflop_per_s| PeakOutcome::Measured {
            gflop_per_s,
            size: 1024,
            by_size: Vec::new(),
            measured_at: "2026-12-03T08:00:00Z".into(),
        };
        let why = |reason: &str| PeakOutcome::NotMeasured {
            reason: reason.into(),
        };
        let report = PeakReport {
            fma: Some(FmaPeak {
                isa: "avx2+fma".into(),
                lanes: 8,
                widest: "avx2".into(),
                per_core_gflop_per_s: 96.0,
                all_gflop_per_s: 180.0,
                threads: 2,
                clock_ghz: Some(3.0),
            }),
            rows: vec![
                row("candle", Precision::F32, 1, measured(60.0)),
                row("candle", Precision::F32, 2, measured(117.0)),
                row("candle", Precision::Bf16, 2, measured(20.5)),
                row(
                    "tch",
                    Precision::F32,
                    1,
                    why("backend `tch` is not compiled in"),
                ),
                row("null", Precision::F32, 1, why("no arithmetic")),
                row("null", Precision::F32, 2, why("no arithmetic")),
            ],
        };
        insta::assert_snapshot!(render(&report));
    }
}
