//! `inferbench plan` and `inferbench merge`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};

use super::ShardError;
use super::cost::Timings;
use super::merge::{self, Part, ShardSummary};
use super::plan::Plan;
use crate::history::store;
use crate::results::environment::sha256_hex;
use crate::text_table::aligned;

#[derive(Debug, clap::Args)]
pub struct PlanArgs {
    /// The scenario file (TOML).
    pub scenario: PathBuf,
    /// How many shards [required unless --plan gives them].
    #[arg(long, value_name = "N", required_unless_present = "plan")]
    pub shards: Option<usize>,
    /// An existing plan to extend: its cases keep their shards, cases new
    /// to the scenario go to the least-loaded shard.
    #[arg(long, value_name = "FILE")]
    pub plan: Option<PathBuf>,
    /// A previous run folder (or merged run) whose case times replace the
    /// estimates; repeatable, later ones win.
    #[arg(long, value_name = "RUN_DIR")]
    pub timings: Vec<PathBuf>,
    /// The history store whose latest p50 per case replaces the estimated
    /// iteration time (read when it exists).
    #[arg(long, value_name = "FILE", default_value = "results/history.jsonl")]
    pub history: PathBuf,
    /// Write the plan file here instead of printing the case table.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

fn timings(args: &PlanArgs) -> Result<Timings> {
    let mut t = Timings::default();
    if args.history.is_file() {
        t.add_history(&store::read(&args.history)?.entries);
    }
    for dir in &args.timings {
        let path = dir.join("results.json");
        let run = crate::results::json::read(&path)
            .with_context(|| format!("reading the timings of {}", path.display()))?;
        t.add_run(&run);
    }
    Ok(t)
}

/// `inferbench plan`: the case table, or the plan file with `-o`.
pub fn run_plan(args: &PlanArgs, default_threads: usize) -> Result<ExitCode> {
    let loaded = crate::scenario::load_file(&args.scenario, default_threads)?;
    let sha = sha256_hex(loaded.source.as_bytes());
    let mut timings = timings(args)?;
    timings.add_skips(&loaded.cases);
    let plan = match &args.plan {
        Some(path) => {
            let old = Plan::read(path)?;
            if let Some(n) = args.shards.filter(|n| *n != old.shards) {
                anyhow::bail!(
                    "--shards {n} differs from the {} shards of {}",
                    old.shards,
                    path.display()
                );
            }
            old.extended(&sha, &loaded.cases, &timings)
        }
        None => {
            let shards = args.shards.ok_or(ShardError::NoShards)?;
            Plan::balanced(&loaded.name, &sha, &loaded.cases, shards, &timings)?
        }
    };
    match &args.output {
        Some(path) => {
            plan.write(path)?;
            eprint!("{}", shard_table(&plan));
            eprintln!("plan: {}", path.display());
        }
        None => {
            print!("{}", case_table(&plan));
            print!("{}", shard_table(&plan));
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn case_table(plan: &Plan) -> String {
    let mut rows = vec![vec![
        "case".into(),
        "shard".into(),
        "est s".into(),
        "from".into(),
    ]];
    for c in &plan.cases {
        let source = serde_json::to_value(c.cost_source).expect("an enum is JSON");
        rows.push(vec![
            c.id.clone(),
            c.shard.to_string(),
            format!("{:.1}", c.cost_s),
            source.as_str().unwrap_or_default().to_string(),
        ]);
    }
    aligned(&rows, 1)
}

fn shard_table(plan: &Plan) -> String {
    let loads = plan.loads();
    let mean = loads.iter().sum::<f64>() / loads.len().max(1) as f64;
    let mut rows = vec![vec![
        "shard".into(),
        "cases".into(),
        "est s".into(),
        "/ mean".into(),
    ]];
    for (i, load) in loads.iter().enumerate() {
        rows.push(vec![
            i.to_string(),
            plan.shard_cases(i).len().to_string(),
            format!("{load:.1}"),
            format!("{:.2}", if mean > 0.0 { load / mean } else { 1.0 }),
        ]);
    }
    aligned(&rows, 0)
}

#[derive(Debug, clap::Args)]
pub struct MergeArgs {
    /// The shards' run folders (each holds shard.json).
    #[arg(required = true, value_name = "DIR")]
    pub dirs: Vec<PathBuf>,
    /// The merged run folder to write (new or empty).
    #[arg(short, long, value_name = "RUN_DIR")]
    pub output: PathBuf,
    /// Merge although shards are missing; their cases become `missing` rows.
    #[arg(long)]
    pub allow_partial: bool,
    /// The history store the merged run is appended to [default:
    /// history.jsonl beside the folder that holds RUN_DIR].
    #[arg(long, value_name = "FILE")]
    pub history: Option<PathBuf>,
    /// Do not append the merged run to the history store (run the shards
    /// with --no-history too: the merged run is the one to keep).
    #[arg(long)]
    pub no_history: bool,
}

/// `inferbench merge`: exits 1, as `run` would, when a case errored or
/// failed.
pub fn run_merge(args: &MergeArgs) -> Result<ExitCode> {
    let parts = args
        .dirs
        .iter()
        .map(|d| Part::read(d))
        .collect::<Result<Vec<_>, _>>()?;
    let run_id = args.output.file_name().map_or_else(
        || "merged".to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let merged = merge::merge(&parts, &run_id, args.allow_partial)?;
    if let Some(w) = &merged.hardware_warning {
        eprintln!("warning: {w}");
    }
    super::write::write(&merged, &args.output)?;
    if let Err(e) = crate::report::write_run_report(&args.output, None) {
        eprintln!("warning: the HTML report was not written: {e}");
    }
    if !args.no_history {
        let parent = args.output.parent().unwrap_or(Path::new(""));
        let file = args
            .history
            .clone()
            .unwrap_or_else(|| store::default_path(parent));
        store::append(&file, &store::entries_of(&merged.run))?;
    }
    print!("{}", summary_table(&merged.shards));
    let missing = merged
        .run
        .cases
        .iter()
        .filter(|r| r.status == crate::results::Status::Missing)
        .count();
    eprintln!(
        "merged {} shard(s), {} cases ({missing} missing) → {}",
        parts.len(),
        merged.run.cases.len(),
        args.output.display()
    );
    Ok(crate::exit_status::failing_cases(&merged.run.cases).unwrap_or(ExitCode::SUCCESS))
}

/// Each shard's planned cost against its measured time.
pub fn summary_table(shards: &[ShardSummary]) -> String {
    let mut rows = vec![vec![
        "shard".into(),
        "cases".into(),
        "planned s".into(),
        "measured s".into(),
    ]];
    for s in shards {
        rows.push(vec![
            s.index.to_string(),
            s.cases.to_string(),
            format!("{:.1}", s.planned_s),
            format!("{:.1}", s.measured_s),
        ]);
    }
    aligned(&rows, 0)
}
