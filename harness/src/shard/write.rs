//! Writes a merged run as a run folder: the same files `run` writes
//! (scenario.toml, environment.json, results.csv, results.json), plus the
//! plan it ran (plan.json) and each shard's planned and measured time
//! (merge.json).

use std::fs;
use std::io;
use std::path::Path;

use super::ShardError;
use super::merge::{Merged, ShardSummary};
use crate::results::ResultsError;
use crate::results::csv::CsvSink;
use crate::results::json;

/// What merge.json holds.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct MergeRecord {
    pub shards: Vec<ShardSummary>,
    pub missing_shards: Vec<usize>,
    pub hardware_warning: Option<String>,
}

fn at(path: &Path) -> impl FnOnce(io::Error) -> ShardError + '_ {
    move |source| {
        ShardError::Results(ResultsError {
            path: path.to_path_buf(),
            source,
        })
    }
}

fn write_json<T: serde::Serialize>(path: &Path, value: &T) -> Result<(), ShardError> {
    let text = serde_json::to_string_pretty(value).expect("plain data is JSON") + "\n";
    fs::write(path, text).map_err(at(path))
}

/// Writes `merged` into `dir` (created; refused when it holds a run).
pub fn write(merged: &Merged, dir: &Path) -> Result<(), ShardError> {
    if dir.join("results.json").exists() {
        return Err(ShardError::OutputTaken(dir.to_path_buf()));
    }
    fs::create_dir_all(dir).map_err(at(dir))?;
    let path = dir.join("scenario.toml");
    fs::write(&path, &merged.scenario_source).map_err(at(&path))?;
    write_json(&dir.join("environment.json"), &merged.run.environment)?;
    write_json(&dir.join("plan.json"), &merged.plan)?;
    let record = MergeRecord {
        shards: merged.shards.clone(),
        missing_shards: merged.missing_shards.clone(),
        hardware_warning: merged.hardware_warning.clone(),
    };
    write_json(&dir.join("merge.json"), &record)?;
    let path = dir.join("results.csv");
    let mut csv = CsvSink::create(&path).map_err(at(&path))?;
    for r in &merged.run.cases {
        csv.append(r).map_err(at(&path))?;
    }
    let path = dir.join("results.json");
    json::write(&path, &merged.run).map_err(at(&path))
}
