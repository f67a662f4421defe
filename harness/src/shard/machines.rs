//! The merged run's environment: the first shard's, with every shard's
//! machine listed, and its CPU marked as mixed when the shards ran on
//! different hardware classes, so that the gate calls a comparison with
//! it a mismatch instead of judging latency across machines.

use std::collections::BTreeSet;

use super::merge::Part;
use crate::results::environment::{Environment, ShardMachine};

fn machine(p: &Part) -> ShardMachine {
    let env = &p.run.environment;
    ShardMachine {
        index: p.record.shard.index,
        run_id: p.run.run_id.clone(),
        hostname: env.hostname.clone(),
        cpu_model: env.cpu_model.clone(),
        logical_cores: env.logical_cores,
        os: env.os.clone(),
        kernel: env.kernel.clone(),
        git_commit: env.git_commit.clone(),
    }
}

/// A hardware class: what the gate compares (the CPU and its core count).
fn class(m: &ShardMachine) -> String {
    format!(
        "{} ({} cores)",
        m.cpu_model.as_deref().unwrap_or("unknown CPU"),
        m.logical_cores
    )
}

/// The merged environment, and the warning when the shards' hardware
/// classes or commits differ.
pub fn merged_environment(parts: &[Part]) -> (Environment, Option<String>) {
    let mut env = parts[0].run.environment.clone();
    let mut shards: Vec<ShardMachine> = parts.iter().map(machine).collect();
    shards.sort_by_key(|m| m.index);
    let classes: BTreeSet<String> = shards.iter().map(class).collect();
    let commits: BTreeSet<Option<&str>> = shards.iter().map(|m| m.git_commit.as_deref()).collect();
    let mut warnings = Vec::new();
    if classes.len() > 1 {
        let list = classes.iter().cloned().collect::<Vec<_>>().join("; ");
        warnings.push(format!(
            "the shards ran on different hardware classes ({list}): their latencies are not \
             comparable with each other, and `compare` treats the merged run as another \
             machine (use --allow-env-mismatch to judge it anyway)"
        ));
        env.cpu_model = Some(format!("mixed: {list}"));
    }
    if commits.len() > 1 {
        warnings.push("the shards ran different git commits".to_string());
        env.git_commit = None;
    }
    env.shards = shards;
    let warning = (!warnings.is_empty()).then(|| warnings.join("; "));
    (env, warning)
}
