//! A plan: which shard runs each case. Balanced by estimated cost (longest
//! case first onto the least-loaded shard, Graham's LPT rule, which keeps
//! the most loaded shard within 4/3 of the best possible), and stable: a
//! plan extended with new cases keeps every old case where it was, so a
//! base and a candidate run from one plan file measure each case at the
//! same shard index.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::ShardError;
use super::cost::{CostSource, Timings};
use crate::results::environment::sha256_hex;
use crate::scenario::Case;

/// Version of the plan file's layout.
pub const FORMAT: &str = "inferbench-plan/1";

/// One case's place in the plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlannedCase {
    pub id: String,
    /// 0-based shard index.
    pub shard: usize,
    /// Estimated wall seconds.
    pub cost_s: f64,
    pub cost_source: CostSource,
}

/// The plan file (`inferbench plan -o plan.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub format: String,
    pub scenario: String,
    /// SHA-256 of the scenario file the plan was made from.
    pub scenario_sha256: String,
    pub shards: usize,
    /// In the scenario's case order.
    pub cases: Vec<PlannedCase>,
}

impl Plan {
    /// Assigns `cases` to `shards` shards by estimated cost.
    pub fn balanced(
        scenario: &str,
        scenario_sha256: &str,
        cases: &[Case],
        shards: usize,
        timings: &Timings,
    ) -> Result<Self, ShardError> {
        if shards == 0 {
            return Err(ShardError::NoShards);
        }
        let mut plan = Plan {
            format: FORMAT.to_string(),
            scenario: scenario.to_string(),
            scenario_sha256: scenario_sha256.to_string(),
            shards,
            cases: Vec::new(),
        };
        plan.add_new(cases, timings);
        Ok(plan)
    }

    /// The plan for `cases` keeping this plan's assignments: cases no
    /// longer in the scenario are dropped, new ones go (longest first) to
    /// the least-loaded shard, and no other case moves.
    pub fn extended(&self, scenario_sha256: &str, cases: &[Case], timings: &Timings) -> Self {
        let kept: BTreeMap<&str, &PlannedCase> =
            self.cases.iter().map(|c| (c.id.as_str(), c)).collect();
        let mut plan = Plan {
            scenario_sha256: scenario_sha256.to_string(),
            cases: cases
                .iter()
                .filter_map(|c| kept.get(c.id.as_str()).map(|&p| p.clone()))
                .collect(),
            ..self.clone()
        };
        plan.add_new(cases, timings);
        plan
    }

    /// Places the cases of `cases` the plan lacks, then restores the
    /// scenario's order.
    fn add_new(&mut self, cases: &[Case], timings: &Timings) {
        let mut load = self.loads();
        let known: BTreeSet<String> = self.cases.iter().map(|c| c.id.clone()).collect();
        let mut new: Vec<(&Case, super::cost::Cost)> = cases
            .iter()
            .filter(|c| !known.contains(&c.id))
            .map(|c| (c, timings.cost(c)))
            .collect();
        // Longest first; ties by id, so every machine computes the same plan.
        new.sort_by(|a, b| {
            b.1.seconds
                .total_cmp(&a.1.seconds)
                .then(a.0.id.cmp(&b.0.id))
        });
        for (case, cost) in new {
            let shard = least_loaded(&load);
            load[shard] += cost.seconds;
            self.cases.push(PlannedCase {
                id: case.id.clone(),
                shard,
                cost_s: cost.seconds,
                cost_source: cost.source,
            });
        }
        let order: BTreeMap<&str, usize> = cases
            .iter()
            .enumerate()
            .map(|(i, c)| (c.id.as_str(), i))
            .collect();
        self.cases
            .sort_by_key(|c| order.get(c.id.as_str()).copied().unwrap_or(usize::MAX));
    }

    /// Estimated seconds of each shard.
    pub fn loads(&self) -> Vec<f64> {
        let mut load = vec![0.0; self.shards];
        for c in &self.cases {
            if let Some(l) = load.get_mut(c.shard) {
                *l += c.cost_s;
            }
        }
        load
    }

    /// The ids of shard `index`'s cases, in the scenario's order.
    pub fn shard_cases(&self, index: usize) -> Vec<&str> {
        self.cases
            .iter()
            .filter(|c| c.shard == index)
            .map(|c| c.id.as_str())
            .collect()
    }

    /// What a merge checks the parts against: the shard count and every
    /// case's shard (not the estimates, which may be refreshed), hashed.
    pub fn assignment_sha256(&self) -> String {
        let mut text = format!("{}\n", self.shards);
        for c in &self.cases {
            text.push_str(&format!("{}\t{}\n", c.shard, c.id));
        }
        sha256_hex(text.as_bytes())
    }

    pub fn read(path: &Path) -> Result<Self, ShardError> {
        let bytes = std::fs::read(path).map_err(|source| ShardError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let plan: Plan = serde_json::from_slice(&bytes).map_err(|e| ShardError::BadPlan {
            path: path.to_path_buf(),
            message: format!("line {} column {}: {e}", e.line(), e.column()),
        })?;
        plan.check().map_err(|message| ShardError::BadPlan {
            path: path.to_path_buf(),
            message,
        })?;
        Ok(plan)
    }

    /// A plan file edited by hand (or by another version) must still give
    /// every case exactly one shard that exists.
    fn check(&self) -> Result<(), String> {
        if self.format != FORMAT {
            return Err(format!("format `{}`, expected `{FORMAT}`", self.format));
        }
        if self.shards == 0 {
            return Err("`shards` is 0".into());
        }
        let mut seen = BTreeSet::new();
        for c in &self.cases {
            if c.shard >= self.shards {
                return Err(format!(
                    "case `{}` is in shard {} of {} (shards count from 0)",
                    c.id, c.shard, self.shards
                ));
            }
            if !seen.insert(c.id.as_str()) {
                return Err(format!("case `{}` is listed twice", c.id));
            }
        }
        Ok(())
    }

    pub fn write(&self, path: &Path) -> Result<(), ShardError> {
        let text = serde_json::to_string_pretty(self).expect("plain data is JSON") + "\n";
        std::fs::write(path, text).map_err(|source| ShardError::Write {
            path: path.to_path_buf(),
            source,
        })
    }
}

/// The first shard with the least load.
fn least_loaded(load: &[f64]) -> usize {
    let mut best = 0;
    for (i, l) in load.iter().enumerate() {
        if *l < load[best] {
            best = i;
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::parse_str;

    /// The issue's matrix: 3 backends x 7 precisions x 4 batches x 3
    /// lengths x 2 models = 504 cases, whose estimates differ by far more
    /// than 100x (a small model at batch 1 over 32 tokens against a large
    /// one at batch 64 over 512).
    fn skewed_cases() -> Vec<Case> {
        let toml = r#"
            backends = ["candle", "ort", "tch"]
            precisions = ["f32", "f16", "bf16", "int8", "q8_0", "q4_0", "q4k"]
            batch = [1, 4, 16, 64]
            seq_len = [32, 128, 512]
            threads = 2
            [model]
            hidden = [256, 512]
            layers = [4]
            heads = 8
            max_seq = 512
            [measurement]
            min_iterations = 10
            min_seconds = 0.0
        "#;
        parse_str(toml, Path::new("skewed.toml"), "skewed", 2)
            .unwrap()
            .cases
    }

    fn plan(cases: &[Case], shards: usize) -> Plan {
        Plan::balanced("s", "sha", cases, shards, &Timings::default()).unwrap()
    }

    #[test]
    fn the_skewed_matrix_balances_within_a_fifth_of_the_mean() {
        let cases = skewed_cases();
        assert_eq!(cases.len(), 504);
        let t = Timings::default();
        let costs: Vec<f64> = cases.iter().map(|c| t.cost(c).seconds).collect();
        let (min, max) = costs
            .iter()
            .fold((f64::MAX, 0.0f64), |(a, b), &c| (a.min(c), b.max(c)));
        assert!(max / min >= 100.0, "costs differ by only {:.0}x", max / min);
        for shards in [2, 3, 8, 16] {
            let p = plan(&cases, shards);
            let loads = p.loads();
            let mean = loads.iter().sum::<f64>() / shards as f64;
            let most = loads.iter().copied().fold(0.0, f64::max);
            assert!(
                most <= 1.2 * mean,
                "{shards} shards: {most:.1} s vs mean {mean:.1} s"
            );
            // Every case in exactly one shard.
            let mut ids: Vec<&str> = (0..shards).flat_map(|i| p.shard_cases(i)).collect();
            ids.sort_unstable();
            let mut all: Vec<&str> = cases.iter().map(|c| c.id.as_str()).collect();
            all.sort_unstable();
            assert_eq!(ids, all);
        }
    }

    /// Round-robin by count puts a shard's worth of large cases together;
    /// the test above must be able to fail, so check that it would.
    #[test]
    fn balancing_by_count_would_fail_the_bound() {
        let cases = skewed_cases();
        let t = Timings::default();
        let mut loads = [0.0; 8];
        for (i, c) in cases.iter().enumerate() {
            loads[i * 8 / cases.len()] += t.cost(c).seconds;
        }
        let mean = loads.iter().sum::<f64>() / 8.0;
        assert!(loads.iter().copied().fold(0.0, f64::max) > 1.2 * mean);
    }

    #[test]
    fn adding_a_case_moves_no_other() {
        let cases = skewed_cases();
        let (new, old) = cases.split_at(1);
        let before = plan(old, 5);
        let after = before.extended("sha2", &cases, &Timings::default());
        assert_eq!(after.cases.len(), cases.len());
        for c in &before.cases {
            let now = after.cases.iter().find(|a| a.id == c.id).unwrap();
            assert_eq!(now.shard, c.shard, "{} moved", c.id);
        }
        let placed = after.cases.iter().find(|a| a.id == new[0].id).unwrap();
        let loads = before.loads();
        let least = (0..5)
            .min_by(|&a, &b| loads[a].total_cmp(&loads[b]))
            .unwrap();
        assert_eq!(placed.shard, least);
        // The scenario's order is kept, so the new case comes first.
        assert_eq!(after.cases[0].id, new[0].id);
        // A case dropped from the scenario leaves, and nothing else moves.
        let fewer = after.extended("sha3", &cases[2..], &Timings::default());
        assert_eq!(fewer.cases.len(), cases.len() - 2);
        assert!(
            fewer
                .cases
                .iter()
                .all(|c| after.cases.iter().any(|a| a == c))
        );
    }

    #[test]
    fn measured_timings_replace_the_estimates() {
        let cases = skewed_cases();
        let mut t = Timings::default();
        let report = crate::runner::protocol::WorkerReport::skipped("x".into());
        let mut r = crate::runner::summarize::summarize(&cases[0], report);
        r.started_at_unix_ns = Some(1_000_000_000);
        r.finished_at_unix_ns = Some(43_000_000_000);
        let run = crate::results::json::RunDocument {
            format: crate::results::json::FORMAT.into(),
            run_id: "r".into(),
            scenario: "s".into(),
            started_at: String::new(),
            finished_at: None,
            interrupted: None,
            environment: crate::results::environment::Environment::capture("s.toml", ""),
            cases: vec![r],
        };
        t.add_run(&run);
        let cost = t.cost(&cases[0]);
        assert_eq!((cost.seconds, cost.source), (42.0, CostSource::Run));
        assert_eq!(t.cost(&cases[1]).source, CostSource::Scenario);
    }

    #[test]
    fn a_hand_edited_plan_is_checked() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plan.json");
        let mut p = plan(&skewed_cases()[..4], 2);
        p.cases[1].shard = 2;
        p.write(&path).unwrap();
        let e = Plan::read(&path).unwrap_err().to_string();
        assert!(
            e.contains("is in shard 2 of 2 (shards count from 0)"),
            "{e}"
        );
        p.cases[1] = p.cases[0].clone();
        p.write(&path).unwrap();
        let e = Plan::read(&path).unwrap_err().to_string();
        assert!(e.contains("listed twice"), "{e}");
        std::fs::write(&path, "{\"format\": ").unwrap();
        let e = Plan::read(&path).unwrap_err().to_string();
        assert!(e.contains("plan.json: not a valid plan: line 1"), "{e}");
    }
}
