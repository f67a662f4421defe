//! When a comparison's numbers cannot mean what they seem: the two sides
//! ran on different machines or builds, or one side's machine was starved.
//! Such metrics are `inconclusive` (with the reason) rather than judged: a
//! different CPU model moves latency, a different set of linked runtimes
//! moves peak memory (libtorch alone adds ~100 MiB), and a side that waited
//! for the CPU shows wall time the code did not spend.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::record::CaseRecord;

/// What a side records of where it ran; `None` where it does not say (a
/// baseline saved before environments were kept).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SideEnvironment {
    pub cpu_model: Option<String>,
    pub logical_cores: Option<usize>,
    pub os: Option<String>,
    /// Each backend's runtime version, or why it was unavailable.
    pub backends: Option<BTreeMap<String, String>>,
}

impl SideEnvironment {
    pub fn of(env: &crate::results::environment::Environment) -> Self {
        Self {
            cpu_model: env.cpu_model.clone(),
            logical_cores: Some(env.logical_cores),
            os: Some(env.os.clone()),
            backends: Some(env.backends.clone()),
        }
    }
}

/// The environment differences of two sides, and which metrics they void.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct EnvironmentCheck {
    /// One line per difference, e.g. "CPU model: AMD EPYC → Intel Xeon".
    pub differences: Vec<String>,
    /// Why latency and throughput are not judged (different CPU model).
    pub latency_void: Option<String>,
    /// Why peak memory is not judged (different linked runtimes).
    pub memory_void: Option<String>,
}

fn show<T: std::fmt::Debug>(v: &Option<T>) -> String {
    v.as_ref()
        .map_or("not recorded".into(), |v| format!("{v:?}"))
}

/// Differences of `base` and `candidate`; a field one side does not record
/// counts as different (nothing shows it is the same).
pub fn check_environments(base: &SideEnvironment, cand: &SideEnvironment) -> EnvironmentCheck {
    let mut out = EnvironmentCheck::default();
    if base.cpu_model != cand.cpu_model || base.cpu_model.is_none() {
        let line = format!(
            "CPU model: {} → {}",
            show(&base.cpu_model),
            show(&cand.cpu_model)
        );
        out.latency_void = Some(format!("different CPUs ({line})"));
        out.differences.push(line);
    }
    if base.logical_cores != cand.logical_cores {
        out.differences.push(format!(
            "logical cores: {} → {}",
            show(&base.logical_cores),
            show(&cand.logical_cores)
        ));
    }
    if base.os != cand.os {
        out.differences
            .push(format!("OS: {} → {}", show(&base.os), show(&cand.os)));
    }
    match (&base.backends, &cand.backends) {
        (Some(b), Some(c)) if b == c => {}
        (Some(b), Some(c)) => {
            let names: std::collections::BTreeSet<&String> = b.keys().chain(c.keys()).collect();
            let changed: Vec<String> = names
                .into_iter()
                .filter(|n| b.get(*n) != c.get(*n))
                .map(|n| {
                    let get = |m: &BTreeMap<String, String>| {
                        m.get(n).cloned().unwrap_or_else(|| "absent".into())
                    };
                    format!("{n}: {} → {}", get(b), get(c))
                })
                .collect();
            let line = format!("backends: {}", changed.join("; "));
            out.memory_void = Some(format!("different linked runtimes ({line})"));
            out.differences.push(line);
        }
        _ => {
            let line =
                "compiled backends and runtime versions: not recorded by one side".to_string();
            out.memory_void = Some(format!("unknown linked runtimes ({line})"));
            out.differences.push(line);
        }
    }
    out
}

/// A side's wall time over CPU time differing from the other's by more than
/// this factor means one side waited for the CPU (a busy machine).
pub const STARVATION_FACTOR: f64 = 1.25;

/// Total wall time over total CPU time of a record's iterations; `None`
/// without CPU samples.
fn wall_over_cpu(r: &CaseRecord) -> Option<f64> {
    if r.cpu_samples_ns.len() != r.samples_ns.len() || r.samples_ns.is_empty() {
        return None;
    }
    let wall: f64 = r.samples_ns.iter().map(|&x| x as f64).sum();
    let cpu: f64 = r.cpu_samples_ns.iter().map(|&x| x as f64).sum();
    (cpu > 0.0).then(|| wall / cpu)
}

/// Why a case's wall-clock latency is suspect: one side's wall/CPU ratio
/// is [`STARVATION_FACTOR`] above the other's.
pub fn starvation(case: &str, base: &CaseRecord, cand: &CaseRecord) -> Option<String> {
    let (b, c) = (wall_over_cpu(base)?, wall_over_cpu(cand)?);
    let (starved, ratio) = if c > b {
        ("candidate", c / b)
    } else {
        ("base", b / c)
    };
    (ratio > STARVATION_FACTOR).then(|| {
        format!(
            "{case}: the {starved} side was starved of CPU (wall/CPU {b:.2} in the base, {c:.2} in \
             the candidate): its wall time includes waiting, not the code's work; compare with \
             `clock = \"cpu\"` in [gate] (or --clock cpu), or interleave the runs (ci/gate.sh)"
        )
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::gate::comparison::tests::record;

    /// The environment both sides of a unit test ran in.
    pub(crate) fn same_machine() -> SideEnvironment {
        env("AMD EPYC", "2.13.0")
    }

    fn env(cpu: &str, tch: &str) -> SideEnvironment {
        SideEnvironment {
            cpu_model: Some(cpu.into()),
            logical_cores: Some(2),
            os: Some("Debian".into()),
            backends: Some(BTreeMap::from([
                ("candle".to_string(), "0.11.1".to_string()),
                ("tch".to_string(), tch.to_string()),
            ])),
        }
    }

    #[test]
    fn different_cpus_void_latency_and_different_runtimes_void_memory() {
        let same = check_environments(&env("AMD EPYC", "2.13.0"), &env("AMD EPYC", "2.13.0"));
        assert_eq!(same, EnvironmentCheck::default());
        let c = check_environments(
            &env("AMD EPYC", "unavailable: not compiled in"),
            &env("Intel Xeon", "2.13.0"),
        );
        assert_eq!(
            c.differences,
            [
                "CPU model: \"AMD EPYC\" → \"Intel Xeon\"",
                "backends: tch: unavailable: not compiled in → 2.13.0"
            ]
        );
        assert!(c.latency_void.is_some() && c.memory_void.is_some());
        let old = SideEnvironment {
            backends: None,
            ..env("AMD EPYC", "x")
        };
        let c = check_environments(&old, &env("AMD EPYC", "x"));
        assert!(c.latency_void.is_none() && c.memory_void.is_some(), "{c:?}");
    }

    #[test]
    fn a_side_waiting_for_the_cpu_is_named() {
        let mut base = record("x", vec![100; 10]);
        base.cpu_samples_ns = vec![100; 10];
        let mut cand = record("x", vec![200; 10]);
        cand.cpu_samples_ns = vec![100; 10];
        let s = starvation("x", &base, &cand).unwrap();
        assert!(
            s.contains("the candidate side was starved") && s.contains("clock = \"cpu\""),
            "{s}"
        );
        cand.cpu_samples_ns = vec![180; 10];
        assert_eq!(starvation("x", &base, &cand), None);
        cand.cpu_samples_ns.clear();
        assert_eq!(starvation("x", &base, &cand), None);
    }
}
