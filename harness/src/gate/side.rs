//! One side of a comparison, from what the user names: a run folder, a
//! folder of run folders (pooled: interleaved repetitions), a baseline file,
//! or a baseline name under `results/baselines/`.

use std::fs;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::baseline::{self, BaselineDocument, BaselineError};
use super::record::{CaseRecord, pool_by_id};
use super::settings::GateConfig;
use super::validity::SideEnvironment;
use crate::results::json::{self as results_json, RunDocument};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SideKind {
    Run,
    PooledRuns(usize),
    Baseline,
}

#[derive(Debug, Clone)]
pub struct Side {
    /// What the user named, for reports.
    pub label: String,
    pub kind: SideKind,
    pub scenario: String,
    pub git_commit: Option<String>,
    pub environment: SideEnvironment,
    /// The `[gate]` section of the run's scenario, if it has one.
    pub gate: Option<GateConfig>,
    pub cases: Vec<CaseRecord>,
}

#[derive(Debug, thiserror::Error)]
pub enum SideError {
    #[error(
        "`{0}` is neither a run folder (with results.json), a folder of run folders, a baseline file, nor a baseline in {1}/; list baselines with `ls {1}`"
    )]
    NotFound(String, String),
    #[error("cannot read {}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: its scenario.toml has an invalid [gate] section: {message}", dir.display())]
    Gate { dir: PathBuf, message: String },
    #[error(transparent)]
    Baseline(#[from] BaselineError),
}

/// Only the `[gate]` section of a scenario; everything else is ignored.
#[derive(Deserialize)]
struct GateOnly {
    gate: Option<GateConfig>,
}

fn gate_of(run_dir: &Path) -> Result<Option<GateConfig>, SideError> {
    let Ok(text) = fs::read_to_string(run_dir.join("scenario.toml")) else {
        return Ok(None);
    };
    toml::from_str::<GateOnly>(&text)
        .map(|g| g.gate)
        .map_err(|e| SideError::Gate {
            dir: run_dir.to_path_buf(),
            message: e.message().to_string(),
        })
}

fn read_run(dir: &Path) -> Result<RunDocument, SideError> {
    let path = dir.join("results.json");
    results_json::read(&path).map_err(|source| SideError::Read { path, source })
}

fn from_runs(label: &str, dirs: &[PathBuf]) -> Result<Side, SideError> {
    let docs = dirs
        .iter()
        .map(|d| read_run(d))
        .collect::<Result<Vec<_>, _>>()?;
    let first = &docs[0];
    let cases = pool_by_id(docs.iter().flat_map(|d| d.cases.iter().map(CaseRecord::of)));
    Ok(Side {
        label: label.to_string(),
        kind: if dirs.len() == 1 {
            SideKind::Run
        } else {
            SideKind::PooledRuns(dirs.len())
        },
        scenario: first.scenario.clone(),
        git_commit: first.environment.git_commit.clone(),
        environment: SideEnvironment::of(&first.environment),
        gate: gate_of(&dirs[dirs.len() - 1])?,
        cases,
    })
}

fn from_baseline(label: &str, doc: BaselineDocument) -> Side {
    Side {
        label: label.to_string(),
        kind: SideKind::Baseline,
        scenario: doc.scenario,
        git_commit: doc.git_commit,
        // A baseline saved before environments were kept records its CPU only.
        environment: doc.environment.unwrap_or(SideEnvironment {
            cpu_model: doc.cpu_model,
            ..SideEnvironment::default()
        }),
        gate: None,
        cases: doc.cases,
    }
}

/// Run folders directly inside `dir`, sorted by name (= start time).
fn run_folders_in(dir: &Path) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.join("results.json").is_file())
                .collect()
        })
        .unwrap_or_default();
    dirs.sort();
    dirs
}

/// Resolves what the user named, trying in turn: a run folder, a folder of
/// run folders, a baseline file, a baseline name in `baselines_dir`.
pub fn load(spec: &str, baselines_dir: &Path) -> Result<Side, SideError> {
    let path = Path::new(spec);
    if path.join("results.json").is_file() {
        return from_runs(spec, &[path.to_path_buf()]);
    }
    if path.is_dir() {
        let runs = run_folders_in(path);
        if !runs.is_empty() {
            return from_runs(spec, &runs);
        }
    }
    if path.is_file() {
        return Ok(from_baseline(spec, BaselineDocument::load(path)?));
    }
    if let Ok(named) = baseline::path_for(baselines_dir, spec)
        && named.is_file()
    {
        return Ok(from_baseline(spec, BaselineDocument::load(&named)?));
    }
    Err(SideError::NotFound(
        spec.to_string(),
        baselines_dir.display().to_string(),
    ))
}
