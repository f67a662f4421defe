//! The gate's subcommands (`compare`, `baseline save`) and the
//! `run --baseline` step: argument structs for clap and what each does.
//! main.rs only forwards to these.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};

use super::baseline::{self, BaselineDocument};
use super::comparison::{Comparison, compare};
use super::report::{Exporter, json::Json, junit::JUnit, markdown::Markdown, terminal::Terminal};
use super::settings::GateSettings;
use super::side;

/// Exit code of a comparison that found a regression.
pub const REGRESSION: u8 = crate::exit_status::FAILURE;
/// Exit code of a comparison that could judge no case, with
/// `--fail-on-inconclusive` (without it: 0 and a warning).
pub const INCONCLUSIVE: u8 = crate::exit_status::INCONCLUSIVE;

#[derive(Debug, clap::Args)]
pub struct CompareArgs {
    /// The base: a run folder, a folder of run folders (pooled), a baseline
    /// file, or a baseline name in --baselines.
    pub base: String,
    /// The candidate, in the same forms.
    pub candidate: String,
    /// Practical threshold METRIC=VALUE (percent; top1 in percentage
    /// points), repeatable. Metrics: latency_p5, latency_p50, latency_p99, throughput,
    /// peak_memory, rel_l2, top1. Overrides the scenario's [gate] section.
    #[arg(long = "threshold", value_name = "METRIC=VALUE")]
    pub thresholds: Vec<String>,
    /// Confidence level of the intervals [default: 0.95].
    #[arg(long)]
    pub confidence: Option<f64>,
    /// Clock the latency metrics compare: wall or cpu (process CPU time)
    /// [default: the scenario's [gate] clock, else wall].
    #[arg(long, value_enum)]
    pub clock: Option<super::settings::Clock>,
    /// Bootstrap resamples [default: 2000].
    #[arg(long)]
    pub resamples: Option<usize>,
    /// Write the Markdown report here (e.g. for $GITHUB_STEP_SUMMARY).
    #[arg(long, value_name = "FILE")]
    pub markdown: Option<PathBuf>,
    /// Write a JUnit XML report here (each case a test).
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Write the JSON verdict file here.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Write comparison and latency-distribution plots (PNG + SVG) here.
    #[arg(long, value_name = "DIR")]
    pub plots: Option<PathBuf>,
    /// Write a self-contained HTML page of the comparison here.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// Where baselines named by NAME are looked up.
    #[arg(long, default_value = baseline::DEFAULT_DIR)]
    pub baselines: PathBuf,
    /// Judge latency and memory even when the sides ran on different CPUs
    /// or with different linked runtimes (otherwise those are inconclusive).
    #[arg(long)]
    pub allow_env_mismatch: bool,
    /// Exit 3 when no case could be judged (an inconclusive comparison);
    /// by default that exits 0 with a warning.
    #[arg(long)]
    pub fail_on_inconclusive: bool,
}

#[derive(Debug, clap::Subcommand)]
pub enum BaselineCommand {
    /// Store a run (or a folder of runs, pooled) as baseline NAME.
    Save {
        name: String,
        /// A run folder or a folder of run folders.
        run: String,
        /// Folder that receives NAME.json.
        #[arg(long, default_value = baseline::DEFAULT_DIR)]
        dir: PathBuf,
    },
}

fn write_report(path: &Option<PathBuf>, exporter: &dyn Exporter, c: &Comparison) -> Result<()> {
    if let Some(path) = path {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        std::fs::write(path, exporter.render(c))
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

/// Settings from defaults, then the candidate's scenario, then the flags.
fn settings(args: &CompareArgs, candidate: &side::Side) -> Result<GateSettings> {
    let mut s = GateSettings::default();
    if let Some(config) = &candidate.gate {
        s.apply_config(config)
            .with_context(|| format!("the [gate] section of {}", candidate.label))?;
    }
    if let Some(c) = args.confidence {
        s.set_confidence(c)?;
    }
    if let Some(r) = args.resamples {
        s.resamples = r.max(1);
    }
    if let Some(clock) = args.clock {
        s.clock = clock;
    }
    for flag in &args.thresholds {
        s.apply_flag(flag)?;
    }
    s.allow_env_mismatch = args.allow_env_mismatch;
    Ok(s)
}

/// `inferbench compare`: 0 no regression, 1 regression, 2 bad input (the
/// caller maps errors to 2).
pub fn run_compare(args: &CompareArgs) -> Result<ExitCode> {
    let base = side::load(&args.base, &args.baselines).context("loading the base")?;
    let candidate =
        side::load(&args.candidate, &args.baselines).context("loading the candidate")?;
    check_common_cases(&base, &candidate)?;
    let settings = settings(args, &candidate)?;
    let comparison = compare(&base, &candidate, &settings);
    print!("{}", Terminal.render(&comparison));
    write_report(&args.markdown, &Markdown, &comparison)?;
    write_report(&args.junit, &JUnit, &comparison)?;
    write_report(&args.json, &Json, &comparison)?;
    if let Some(path) = &args.html {
        let page = crate::report::render_comparison(&comparison, &base, &candidate);
        crate::report::write_page(path, &page)?;
        eprintln!("report: {}", path.display());
    }
    if let Some(dir) = &args.plots {
        let written = crate::plots::comparison_plots(dir, &base, &candidate, &comparison)
            .context("writing plots")?;
        eprintln!("plots: {} files in {}", written, dir.display());
    }
    Ok(exit_code(&comparison, args.fail_on_inconclusive))
}

/// Two sides without a case in common compare nothing: that is a usage
/// error (the wrong folder or baseline), not "unchanged".
fn check_common_cases(base: &side::Side, candidate: &side::Side) -> Result<()> {
    let ids = |s: &side::Side| s.cases.iter().map(|c| c.id.clone()).collect::<Vec<_>>();
    let (b, c) = (ids(base), ids(candidate));
    if b.iter().any(|id| c.contains(id)) {
        return Ok(());
    }
    let list = |ids: &[String]| match ids.len() {
        0 => "no cases".to_string(),
        n if n > 8 => format!("{} … ({n} cases)", ids[..8].join(", ")),
        _ => ids.join(", "),
    };
    anyhow::bail!(
        "the two sides have no case in common, so there is nothing to compare\n  base {}: {}\n  candidate {}: {}",
        base.label,
        list(&b),
        candidate.label,
        list(&c)
    )
}

fn exit_code(c: &Comparison, fail_on_inconclusive: bool) -> ExitCode {
    if c.has_regression() {
        return ExitCode::from(REGRESSION);
    }
    if c.verdict == super::verdict::Verdict::Inconclusive {
        eprintln!(
            "warning: no case could be judged (too few samples for the confidence asked, or \
             different environments); see the lines above"
        );
        if fail_on_inconclusive {
            return ExitCode::from(INCONCLUSIVE);
        }
    }
    ExitCode::SUCCESS
}

pub fn run_baseline(command: &BaselineCommand) -> Result<ExitCode> {
    match command {
        BaselineCommand::Save { name, run, dir } => {
            let path = baseline::path_for(dir, name)?;
            let source = side::load(run, dir).context("loading the run")?;
            if source.kind == side::SideKind::Baseline {
                anyhow::bail!("`{run}` is a baseline already; give a run folder");
            }
            let doc = BaselineDocument::from_side(name, &source)?;
            doc.save(&path)?;
            let samples: usize = doc.cases.iter().map(|c| c.samples_ns.len()).sum();
            println!(
                "baseline {name}: {} cases, {samples} samples → {}",
                doc.cases.len(),
                path.display()
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// `inferbench run --baseline NAME`: compares the finished run folder with
/// the baseline, using the scenario's [gate] settings, and leaves the
/// comparison's page beside the run's (`gate.html`).
pub fn gate_run(
    run_dir: &Path,
    baseline_name: &str,
    baselines: &Path,
    allow_env_mismatch: bool,
) -> Result<ExitCode> {
    let args = CompareArgs {
        base: baseline_name.to_string(),
        candidate: run_dir.display().to_string(),
        thresholds: Vec::new(),
        confidence: None,
        clock: None,
        resamples: None,
        markdown: None,
        junit: None,
        json: None,
        plots: None,
        html: Some(run_dir.join("gate.html")),
        baselines: baselines.to_path_buf(),
        allow_env_mismatch,
        fail_on_inconclusive: false,
    };
    run_compare(&args)
}

/// The value the gate compares for `metric` in a baseline's case.
pub(crate) fn baseline_value(
    record: &super::record::CaseRecord,
    metric: super::metric::Metric,
) -> Option<f64> {
    use super::metric::Metric;
    let samples = record.samples_ms();
    if samples.is_empty() {
        return None;
    }
    let s = super::bootstrap::statistics(&samples);
    match metric {
        Metric::LatencyP5 => Some(s.p5),
        Metric::LatencyP50 => Some(s.p50),
        Metric::LatencyP99 => Some(s.p99),
        Metric::Throughput => Some(record.tokens_per_forward as f64 / (s.mean * 1e-3)),
        Metric::PeakMemory => record
            .peak_rss_bytes
            .map(|b| b as f64 / (1u64 << 20) as f64),
        Metric::RelL2 | Metric::Top1 => None,
    }
}

/// Fails early, before a run, when `--baseline NAME` names nothing.
pub fn check_baseline(name: &str, baselines: &Path) -> Result<()> {
    side::load(name, baselines)
        .map(|_| ())
        .with_context(|| format!("--baseline {name}"))
}
