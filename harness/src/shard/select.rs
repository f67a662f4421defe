//! `run --shard`: which shard this process is (given, or read from the
//! job engine's environment), its cases, and the record a merge checks.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::ShardError;
use super::cost::Timings;
use super::plan::Plan;
use crate::scenario::Case;

/// Version of shard.json's layout.
pub const FORMAT: &str = "inferbench-shard/1";

/// The file in a shard's run folder that says which part of which plan it is.
pub const RECORD_FILE: &str = "shard.json";

/// The sharding options of `inferbench run`.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ShardArgs {
    /// Run only one shard: `I/N` (0-based, as JOB_COMPLETION_INDEX), `I`
    /// with --plan, or `auto`: JOB_COMPLETION_INDEX of --shard-count, or
    /// SLURM_ARRAY_TASK_ID - SLURM_ARRAY_TASK_MIN of SLURM_ARRAY_TASK_COUNT.
    #[arg(long, value_name = "I/N|I|auto")]
    pub shard: Option<String>,
    /// With `--shard auto` under a Kubernetes Indexed Job: its completions.
    #[arg(long, value_name = "N", requires = "shard")]
    pub shard_count: Option<usize>,
    /// The plan file (`inferbench plan -o`) that assigns cases to shards;
    /// without it, `--shard I/N` plans by the scenario's own estimates.
    #[arg(long, value_name = "FILE", requires = "shard")]
    pub plan: Option<PathBuf>,
}

/// Which shard of how many.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardIndex {
    pub index: usize,
    pub count: usize,
}

fn number(text: &str, what: &str, spec: &str) -> Result<usize, ShardError> {
    text.trim()
        .parse()
        .map_err(|_| ShardError::BadSpec(format!("{what} `{text}` in `{spec}` is not a number")))
}

/// Resolves `--shard SPEC` with `--shard-count` and the plan's count;
/// `var` reads the environment (a parameter, so tests need not set it).
pub fn resolve(
    spec: &str,
    shard_count: Option<usize>,
    plan_count: Option<usize>,
    var: impl Fn(&str) -> Option<String>,
) -> Result<ShardIndex, ShardError> {
    let given = shard_count.or(plan_count);
    let (index, count) = if spec == "auto" {
        from_environment(given, &var)?
    } else if let Some((i, n)) = spec.split_once('/') {
        (number(i, "index", spec)?, number(n, "count", spec)?)
    } else {
        let count = given.ok_or_else(|| {
            ShardError::BadSpec(format!(
                "`--shard {spec}` needs the shard count: write `{spec}/N`, or give --plan or --shard-count"
            ))
        })?;
        (number(spec, "index", spec)?, count)
    };
    if let Some(p) = plan_count
        && p != count
    {
        return Err(ShardError::BadSpec(format!(
            "shard count {count} differs from the plan's {p}"
        )));
    }
    if count == 0 || index >= count {
        return Err(ShardError::BadSpec(format!(
            "shard {index} of {count} does not exist: shards count from 0 to N-1"
        )));
    }
    Ok(ShardIndex { index, count })
}

/// `--shard auto`: a Kubernetes Indexed Job's index, else a Slurm array's.
fn from_environment(
    count: Option<usize>,
    var: &impl Fn(&str) -> Option<String>,
) -> Result<(usize, usize), ShardError> {
    let read = |name: &str| -> Result<Option<usize>, ShardError> {
        var(name)
            .map(|v| number(&v, name, &format!("{name}={v}")))
            .transpose()
    };
    if let Some(index) = read("JOB_COMPLETION_INDEX")? {
        let count = count.ok_or_else(|| {
            ShardError::BadSpec(
                "JOB_COMPLETION_INDEX is set but not the shard count: give --shard-count (the Job's completions) or --plan".into(),
            )
        })?;
        return Ok((index, count));
    }
    if let (Some(id), Some(count)) = (
        read("SLURM_ARRAY_TASK_ID")?,
        read("SLURM_ARRAY_TASK_COUNT")?,
    ) {
        let min = read("SLURM_ARRAY_TASK_MIN")?.unwrap_or(0);
        let index = id.checked_sub(min).ok_or_else(|| {
            ShardError::BadSpec(format!(
                "SLURM_ARRAY_TASK_ID {id} is below SLURM_ARRAY_TASK_MIN {min}"
            ))
        })?;
        return Ok((index, count));
    }
    Err(ShardError::BadSpec(
        "`--shard auto` found neither JOB_COMPLETION_INDEX (Kubernetes Indexed Job) nor SLURM_ARRAY_TASK_ID and SLURM_ARRAY_TASK_COUNT (Slurm array)".into(),
    ))
}

/// What a shard's run folder records (shard.json): enough for a merge to
/// prove the parts belong together, and the plan it ran, so a merge knows
/// the cases of a shard that never arrived.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShardRecord {
    pub format: String,
    pub shard: ShardIndex,
    pub scenario_sha256: String,
    pub plan_sha256: String,
    /// The default thread count the cases were expanded with (the cores of
    /// the machine): case ids depend on it.
    pub default_threads: usize,
    pub plan: Plan,
}

impl ShardRecord {
    pub fn write(&self, dir: &Path) -> Result<(), ShardError> {
        let path = dir.join(RECORD_FILE);
        let text = serde_json::to_string_pretty(self).expect("plain data is JSON") + "\n";
        std::fs::write(&path, text).map_err(|source| ShardError::Write { path, source })
    }

    /// The record of run folder `dir`; `None` when it is not a shard's.
    pub fn read(dir: &Path) -> Result<Option<Self>, ShardError> {
        let path = dir.join(RECORD_FILE);
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(ShardError::Read { path, source }),
        };
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| ShardError::BadRecord {
                path,
                message: format!("line {} column {}: {e}", e.line(), e.column()),
            })
    }
}

/// The cases of this shard and its record, for `run --shard`.
pub fn select(
    args: &ShardArgs,
    spec: &str,
    scenario: (&str, &str),
    cases: Vec<Case>,
    default_threads: usize,
) -> Result<(Vec<Case>, ShardRecord), ShardError> {
    let (name, sha256) = scenario;
    let file_plan = args.plan.as_deref().map(Plan::read).transpose()?;
    let env = |name: &str| std::env::var(name).ok();
    let planned = file_plan.as_ref().map(|p| p.shards);
    let shard = resolve(spec, args.shard_count, planned, env)?;
    let plan = match (file_plan, &args.plan) {
        (Some(plan), Some(path)) => {
            check_covers(&plan, &cases, path)?;
            plan
        }
        // Without a plan file every shard plans alone, from the scenario's
        // estimates only (no local history), so all of them agree.
        _ => Plan::balanced(name, sha256, &cases, shard.count, &Timings::default())?,
    };
    let mine: std::collections::BTreeSet<&str> =
        plan.shard_cases(shard.index).into_iter().collect();
    let record = ShardRecord {
        format: FORMAT.to_string(),
        shard,
        scenario_sha256: sha256.to_string(),
        plan_sha256: plan.assignment_sha256(),
        default_threads,
        plan: plan.clone(),
    };
    let cases = cases
        .into_iter()
        .filter(|c| mine.contains(c.id.as_str()))
        .collect();
    Ok((cases, record))
}

/// A case the plan does not place would run in no shard.
fn check_covers(plan: &Plan, cases: &[Case], path: &Path) -> Result<(), ShardError> {
    let planned: std::collections::BTreeSet<&str> =
        plan.cases.iter().map(|c| c.id.as_str()).collect();
    let absent: Vec<&str> = cases
        .iter()
        .map(|c| c.id.as_str())
        .filter(|id| !planned.contains(id))
        .collect();
    if absent.is_empty() {
        return Ok(());
    }
    Err(ShardError::StalePlan {
        path: path.to_path_buf(),
        count: absent.len(),
        first: absent[0].to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        }
    }

    fn shard(index: usize, count: usize) -> ShardIndex {
        ShardIndex { index, count }
    }

    #[test]
    fn an_index_is_given_or_read_from_the_job_engine() {
        assert_eq!(resolve("2/3", None, None, env(&[])).unwrap(), shard(2, 3));
        assert_eq!(resolve("1", None, Some(4), env(&[])).unwrap(), shard(1, 4));
        let k8s = [("JOB_COMPLETION_INDEX", "4")];
        assert_eq!(
            resolve("auto", Some(5), None, env(&k8s)).unwrap(),
            shard(4, 5)
        );
        // Slurm arrays may start anywhere (`--array=1-3`).
        let slurm = [
            ("SLURM_ARRAY_TASK_ID", "3"),
            ("SLURM_ARRAY_TASK_MIN", "1"),
            ("SLURM_ARRAY_TASK_COUNT", "3"),
        ];
        assert_eq!(
            resolve("auto", None, None, env(&slurm)).unwrap(),
            shard(2, 3)
        );
    }

    #[test]
    fn impossible_shards_are_refused_with_the_reason() {
        let e = |spec, count, plan, vars: &[(&str, &str)]| {
            resolve(spec, count, plan, env(vars))
                .unwrap_err()
                .to_string()
        };
        assert!(e("3/3", None, None, &[]).contains("shard 3 of 3 does not exist"));
        assert!(e("a/3", None, None, &[]).contains("index `a` in `a/3` is not a number"));
        assert!(e("1", None, None, &[]).contains("needs the shard count"));
        assert!(e("1/3", None, Some(4), &[]).contains("differs from the plan's 4"));
        assert!(e("auto", None, None, &[]).contains("found neither JOB_COMPLETION_INDEX"));
        let k8s = [("JOB_COMPLETION_INDEX", "0")];
        assert!(e("auto", None, None, &k8s).contains("give --shard-count"));
        let slurm = [
            ("SLURM_ARRAY_TASK_ID", "0"),
            ("SLURM_ARRAY_TASK_MIN", "1"),
            ("SLURM_ARRAY_TASK_COUNT", "2"),
        ];
        assert!(e("auto", None, None, &slurm).contains("below SLURM_ARRAY_TASK_MIN"));
    }
}
