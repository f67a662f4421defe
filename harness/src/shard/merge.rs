//! `inferbench merge`: shard run folders into one run folder that every
//! later command (compare, baseline, history, export, report) reads like
//! any other. The parts must prove they belong together: one scenario,
//! one plan, each shard once.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::ShardError;
use super::machines;
use super::plan::Plan;
use super::select::ShardRecord;
use crate::results::json::{self, FORMAT, RunDocument};
use crate::results::{CaseResult, Status};
use crate::runner::protocol::WorkerReport;
use crate::runner::summarize::summarize;
use crate::scenario::Case;

/// One shard run folder, read.
#[derive(Debug)]
pub struct Part {
    pub dir: PathBuf,
    pub record: ShardRecord,
    pub run: RunDocument,
    pub scenario_source: String,
}

impl Part {
    pub fn read(dir: &Path) -> Result<Self, ShardError> {
        let record = ShardRecord::read(dir)?.ok_or_else(|| ShardError::NotAShard(dir.into()))?;
        let path = dir.join("results.json");
        let run = json::read(&path).map_err(|source| ShardError::Read { path, source })?;
        let path = dir.join("scenario.toml");
        let scenario_source =
            std::fs::read_to_string(&path).map_err(|source| ShardError::Read { path, source })?;
        Ok(Self {
            dir: dir.to_path_buf(),
            record,
            run,
            scenario_source,
        })
    }
}

/// Each shard's planned and measured seconds, kept in the merged folder
/// (merge.json) so the plan's estimates can be checked against the run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShardSummary {
    pub index: usize,
    pub run_id: String,
    pub cases: usize,
    pub planned_s: f64,
    /// Sum of the cases' wall times (worker start to result).
    pub measured_s: f64,
}

/// The merged run, before it is written.
#[derive(Debug)]
pub struct Merged {
    pub run: RunDocument,
    pub plan: Plan,
    pub scenario_source: String,
    pub shards: Vec<ShardSummary>,
    /// Set when the shards ran on different hardware classes.
    pub hardware_warning: Option<String>,
    pub missing_shards: Vec<usize>,
}

/// Checks that `parts` are one plan's shards, each once; a shard that is
/// absent is an error unless `allow_partial`.
fn check_parts(parts: &[Part], allow_partial: bool) -> Result<Vec<usize>, ShardError> {
    let first = parts.first().ok_or(ShardError::NoParts)?;
    let mut by_index: BTreeMap<usize, &Path> = BTreeMap::new();
    for p in parts {
        let (a, b) = (&first.record, &p.record);
        if b.scenario_sha256 != a.scenario_sha256 {
            return Err(ShardError::OtherScenario {
                first: first.dir.clone(),
                first_sha: a.scenario_sha256.clone(),
                other: p.dir.clone(),
                other_sha: b.scenario_sha256.clone(),
            });
        }
        if b.plan_sha256 != a.plan_sha256 || b.shard.count != a.shard.count {
            return Err(ShardError::OtherPlan {
                first: first.dir.clone(),
                other: p.dir.clone(),
            });
        }
        if let Some(earlier) = by_index.insert(b.shard.index, &p.dir) {
            return Err(ShardError::DuplicateShard {
                index: b.shard.index,
                first: earlier.to_path_buf(),
                other: p.dir.clone(),
            });
        }
    }
    let count = first.record.shard.count;
    let missing: Vec<usize> = (0..count).filter(|i| !by_index.contains_key(i)).collect();
    if !missing.is_empty() && !allow_partial {
        return Err(ShardError::MissingShards { missing, count });
    }
    Ok(missing)
}

/// Merges `parts` in the plan's case order. A case no part reports (its
/// shard is absent, or the shard stopped early) is a `missing` row, which
/// only `allow_partial` permits.
pub fn merge(parts: &[Part], run_id: &str, allow_partial: bool) -> Result<Merged, ShardError> {
    let missing_shards = check_parts(parts, allow_partial)?;
    let first = &parts[0];
    let plan = first.record.plan.clone();
    let mut found: BTreeMap<&str, &CaseResult> = BTreeMap::new();
    for p in parts {
        for r in &p.run.cases {
            found.insert(r.case.id.as_str(), r);
        }
    }
    let absent: Vec<&str> = plan
        .cases
        .iter()
        .map(|c| c.id.as_str())
        .filter(|id| !found.contains_key(id))
        .collect();
    if !absent.is_empty() && !allow_partial {
        return Err(ShardError::MissingCases {
            count: absent.len(),
            first: absent[0].to_string(),
        });
    }
    let mut rebuilt = rebuild_cases(first, &absent)?;
    let cases = plan
        .cases
        .iter()
        .map(|c| match found.get(c.id.as_str()) {
            Some(r) => (*r).clone(),
            None => missing_row(rebuilt.remove(&c.id).expect("rebuilt above"), c.shard),
        })
        .collect();
    let (environment, hardware_warning) = machines::merged_environment(parts);
    let run = RunDocument {
        format: FORMAT.to_string(),
        run_id: run_id.to_string(),
        scenario: first.run.scenario.clone(),
        started_at: parts
            .iter()
            .map(|p| p.run.started_at.clone())
            .min()
            .unwrap_or_default(),
        finished_at: parts.iter().filter_map(|p| p.run.finished_at.clone()).max(),
        interrupted: parts.iter().find_map(|p| p.run.interrupted.clone()),
        environment,
        cases,
    };
    Ok(Merged {
        shards: summaries(parts, &plan),
        run,
        plan,
        scenario_source: first.scenario_source.clone(),
        hardware_warning,
        missing_shards,
    })
}

fn missing_row(case: Case, shard: usize) -> CaseResult {
    let mut row = summarize(
        &case,
        WorkerReport::skipped(format!("shard {shard} did not report this case")),
    );
    row.status = Status::Missing;
    row
}

/// The cases no part reports, expanded again from the scenario file the
/// parts ran (with the machine's thread default they ran with), since
/// only the ids are in the plan.
fn rebuild_cases(first: &Part, ids: &[&str]) -> Result<BTreeMap<String, Case>, ShardError> {
    if ids.is_empty() {
        return Ok(BTreeMap::new());
    }
    let path = Path::new(&first.run.environment.scenario_path);
    let loaded = crate::scenario::parse_str(
        &first.scenario_source,
        path,
        &first.run.scenario,
        first.record.default_threads,
    )
    .map_err(|e| ShardError::Rebuild(e.to_string()))?;
    let wanted: BTreeSet<&str> = ids.iter().copied().collect();
    let cases: BTreeMap<String, Case> = loaded
        .cases
        .into_iter()
        .filter(|c| wanted.contains(c.id.as_str()))
        .map(|c| (c.id.clone(), c))
        .collect();
    match ids.iter().find(|id| !cases.contains_key(**id)) {
        Some(id) => Err(ShardError::Rebuild(format!(
            "case `{id}` of the plan is not in the scenario (was the shard run with --filter?)"
        ))),
        None => Ok(cases),
    }
}

fn summaries(parts: &[Part], plan: &Plan) -> Vec<ShardSummary> {
    let loads = plan.loads();
    let mut out: Vec<ShardSummary> = parts
        .iter()
        .map(|p| {
            let index = p.record.shard.index;
            let measured_ns: u64 = p
                .run
                .cases
                .iter()
                .filter_map(|r| r.finished_at_unix_ns?.checked_sub(r.started_at_unix_ns?))
                .sum();
            ShardSummary {
                index,
                run_id: p.run.run_id.clone(),
                cases: p.run.cases.len(),
                planned_s: loads.get(index).copied().unwrap_or(0.0),
                measured_s: measured_ns as f64 / 1e9,
            }
        })
        .collect();
    out.sort_by_key(|s| s.index);
    out
}
