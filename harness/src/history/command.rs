//! `inferbench history`: the change points of every case's history, as
//! text, JSON, an HTML page and per-case plots with the baseline's band.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};

use super::edivisive::EDivisive;
use super::store::HistoryEntry;
use super::{ChangePoint, TRACKED};
use crate::gate::command::baseline_value;
use crate::gate::metric::Metric;
use crate::gate::settings::GateSettings;
use crate::gate::side::{self, Side};

#[derive(Debug, clap::Args)]
pub struct HistoryArgs {
    /// The history store that `inferbench run` appends to.
    #[arg(long, default_value = "results/history.jsonl")]
    pub file: PathBuf,
    /// Only cases whose id contains this text.
    #[arg(long)]
    pub filter: Option<String>,
    /// Write per-case history plots (PNG + SVG) here.
    #[arg(long, value_name = "DIR")]
    pub plots: Option<PathBuf>,
    /// Draw this baseline's accepted band (value ± threshold) in the plots.
    #[arg(long, value_name = "NAME")]
    pub baseline: Option<String>,
    /// Where baselines named by NAME are looked up.
    #[arg(long, default_value = crate::gate::baseline::DEFAULT_DIR)]
    pub baselines: PathBuf,
    /// Write the change points as JSON here.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Write a self-contained HTML page of every case's history here.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// Significance level of the permutation test.
    #[arg(long, default_value_t = 0.05)]
    pub alpha: f64,
}

/// Prints each case's change points; always exits 0 when the history can be
/// read (it informs, the gate is `compare`).
pub fn run_history(args: &HistoryArgs) -> Result<ExitCode> {
    if !(args.alpha > 0.0 && args.alpha < 1.0) {
        anyhow::bail!("--alpha must be in (0, 1), got {}", args.alpha);
    }
    let entries = read_entries(args)?;
    // Loaded first, so a bad name fails before any output.
    let baseline = match &args.baseline {
        Some(name) => Some(side::load(name, &args.baselines).context("loading the baseline")?),
        None => None,
    };
    let cfg = EDivisive {
        alpha: args.alpha,
        ..EDivisive::default()
    };
    let gate = GateSettings::default();
    let found = super::analyze_all(&entries, &cfg, &gate);
    print_change_points(args, &entries, &found, &cfg);
    if let Some(path) = &args.html {
        let label = args.file.display().to_string();
        crate::report::write_page(
            path,
            &crate::report::render_history(&label, &entries, &found),
        )?;
        eprintln!("report: {}", path.display());
    }
    if let Some(path) = &args.json {
        let text = serde_json::to_string_pretty(&found).expect("plain data is JSON");
        std::fs::write(path, text + "\n").with_context(|| format!("writing {}", path.display()))?;
    }
    if let Some(dir) = &args.plots {
        let written = write_plots(dir, &entries, &found, baseline.as_ref(), &gate)?;
        eprintln!("plots: {written} files in {}", dir.display());
    }
    Ok(ExitCode::SUCCESS)
}

/// The history's entries that pass `--filter`; torn lines are warned about.
fn read_entries(args: &HistoryArgs) -> Result<Vec<HistoryEntry>> {
    let history = super::store::read(&args.file)?;
    for line in &history.torn_lines {
        eprintln!(
            "warning: {}:{line}: a torn entry (a run stopped while writing it); skipped",
            args.file.display()
        );
    }
    Ok(history
        .entries
        .into_iter()
        .filter(|e| {
            args.filter
                .as_ref()
                .is_none_or(|f| e.case.contains(f.as_str()))
        })
        .collect())
}

fn print_change_points(
    args: &HistoryArgs,
    entries: &[HistoryEntry],
    found: &[ChangePoint],
    cfg: &EDivisive,
) {
    let cases = super::cases(entries);
    println!(
        "{}: {} entries, {} cases; E-divisive means (α = {}, {} permutations, ≥ {} runs a side)",
        args.file.display(),
        entries.len(),
        cases.len(),
        cfg.alpha,
        cfg.permutations,
        cfg.min_size
    );
    for case in &cases {
        let runs = super::series(entries, case, Metric::LatencyP50)
            .points
            .len();
        let mine: Vec<_> = found.iter().filter(|c| &c.case == case).collect();
        println!(
            "{case}: {runs} measured runs, {} change point(s)",
            mine.len()
        );
        for cp in &mine {
            println!(
                "  {} changed {:+.1}% ({} → {}) at run {} (#{}, {}), commit {}{}; p = {:.3}",
                cp.metric,
                cp.change,
                crate::gate::report::value(cp.metric, cp.before),
                crate::gate::report::value(cp.metric, cp.after),
                cp.run_id,
                cp.index,
                cp.time,
                cp.git_commit.as_deref().unwrap_or("unknown"),
                if cp.worse {
                    " — worse"
                } else {
                    " — better"
                },
                cp.p_value,
            );
        }
    }
}

/// One plot per case and tracked metric, with the baseline's accepted
/// band (value ± the gate's threshold) when one is given.
fn write_plots(
    dir: &std::path::Path,
    entries: &[HistoryEntry],
    found: &[ChangePoint],
    baseline: Option<&Side>,
    gate: &GateSettings,
) -> Result<usize> {
    let mut written = 0;
    for case in &super::cases(entries) {
        for metric in TRACKED {
            let series = super::series(entries, case, metric);
            if series.points.is_empty() {
                continue;
            }
            let threshold = gate.threshold(metric) / 100.0;
            let band = baseline
                .and_then(|b| b.cases.iter().find(|r| &r.id == case))
                .and_then(|r| baseline_value(r, metric))
                .map(|v| (v * (1.0 - threshold), v * (1.0 + threshold)));
            let plot = crate::plots::HistoryPlot {
                series: &series,
                change_points: found
                    .iter()
                    .filter(|c| &c.case == case && c.metric == metric)
                    .collect(),
                band,
            };
            written += crate::plots::history_plot(dir, &plot)?;
        }
    }
    Ok(written)
}
