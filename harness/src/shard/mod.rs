//! Beyond one machine: split a scenario's cases into shards that a job
//! engine runs in parallel (a GitHub Actions matrix, a Kubernetes Indexed
//! Job, a Slurm array), and merge the shards' run folders back into one.
//! inferbench plans and merges; the engine schedules.

pub mod command;
pub mod cost;
mod machines;
pub mod merge;
pub mod plan;
pub mod select;
mod write;

use std::path::PathBuf;

pub use plan::Plan;
pub use select::{ShardArgs, ShardRecord};

#[derive(Debug, thiserror::Error)]
pub enum ShardError {
    #[error("--shards must be at least 1")]
    NoShards,
    #[error("--shard: {0}")]
    BadSpec(String),
    #[error("cannot read {}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write {}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: not a valid plan: {message}", path.display())]
    BadPlan { path: PathBuf, message: String },
    #[error("{}: not a valid shard record: {message}", path.display())]
    BadRecord { path: PathBuf, message: String },
    #[error(
        "{}: the plan does not place {count} of the scenario's cases (the first: `{first}`); \
         extend it with `inferbench plan SCENARIO --plan {} -o NEW_PLAN`",
        path.display(), path.display()
    )]
    StalePlan {
        path: PathBuf,
        count: usize,
        first: String,
    },
    #[error("nothing to merge: give the shards' run folders")]
    NoParts,
    #[error(
        "{}: not a shard's run folder (no shard.json); run shards with `inferbench run --shard`",
        .0.display()
    )]
    NotAShard(PathBuf),
    #[error(
        "{} ran another scenario than {} (scenario SHA-256 {} vs {}): shards of different scenario files cannot be merged",
        other.display(), first.display(), short(other_sha), short(first_sha)
    )]
    OtherScenario {
        first: PathBuf,
        first_sha: String,
        other: PathBuf,
        other_sha: String,
    },
    #[error(
        "{} ran another plan than {} (other shard count or case assignment): run every shard from one plan file (--plan)",
        other.display(), first.display()
    )]
    OtherPlan { first: PathBuf, other: PathBuf },
    #[error("shard {index} is given twice: {} and {}", first.display(), other.display())]
    DuplicateShard {
        index: usize,
        first: PathBuf,
        other: PathBuf,
    },
    #[error(
        "shard(s) {} of {count} are missing; give their run folders, or --allow-partial to mark their cases `missing`",
        list(missing)
    )]
    MissingShards { missing: Vec<usize>, count: usize },
    #[error(
        "{count} planned case(s) are in no shard's results (the first: `{first}`; a shard stopped early?); --allow-partial marks them `missing`"
    )]
    MissingCases { count: usize, first: String },
    #[error("cannot rebuild the missing cases from the shards' scenario.toml: {0}")]
    Rebuild(String),
    #[error(
        "{}: holds a run already; merge into a new or empty folder",
        .0.display()
    )]
    OutputTaken(PathBuf),
    #[error(transparent)]
    Scenario(#[from] crate::scenario::ScenarioError),
    #[error(transparent)]
    Results(#[from] crate::results::ResultsError),
    #[error(transparent)]
    History(#[from] crate::history::store::HistoryError),
}

fn short(sha: &str) -> &str {
    sha.get(..12).unwrap_or(sha)
}

fn list(indices: &[usize]) -> String {
    indices
        .iter()
        .map(|i| i.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}
