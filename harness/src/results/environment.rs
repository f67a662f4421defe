//! Where a run happened: enough to tell two runs' machines and code apart.

use std::collections::BTreeMap;
use std::process::Command;

use inferbench_backend::BackendStatus;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Environment {
    pub inferbench_version: String,
    pub git_commit: Option<String>,
    /// True when the work tree had uncommitted changes.
    pub git_dirty: Option<bool>,
    pub cpu_model: Option<String>,
    pub logical_cores: usize,
    pub os: String,
    pub kernel: Option<String>,
    /// Runtime version of each backend, or why it is unavailable.
    pub backends: BTreeMap<String, String>,
    pub scenario_path: String,
    pub scenario_sha256: String,
    pub command_line: Vec<String>,
    /// The machine's host name.
    #[serde(default)]
    pub hostname: Option<String>,
    /// A merged run's shards and the machine each ran on; empty for a run
    /// on one machine.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub shards: Vec<ShardMachine>,
    /// Each backend's matmul peak and the machine's FMA rate, when the run
    /// measured them (`run --peak`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peak: Option<crate::peak::PeakReport>,
}

/// One shard of a merged run and where it ran.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShardMachine {
    pub index: usize,
    pub run_id: String,
    pub hostname: Option<String>,
    pub cpu_model: Option<String>,
    pub logical_cores: usize,
    pub os: String,
    pub kernel: Option<String>,
    pub git_commit: Option<String>,
}

fn command_output(program: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(program).args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

pub(crate) fn cpu_model() -> Option<String> {
    let info = std::fs::read_to_string("/proc/cpuinfo").ok()?;
    let line = info.lines().find(|l| l.starts_with("model name"))?;
    Some(line.split_once(':')?.1.trim().to_string())
}

fn os_name() -> String {
    std::fs::read_to_string("/etc/os-release")
        .ok()
        .and_then(|s| {
            s.lines().find_map(|l| {
                l.strip_prefix("PRETTY_NAME=")
                    .map(|v| v.trim_matches('"').to_string())
            })
        })
        .unwrap_or_else(|| std::env::consts::OS.to_string())
}

pub(crate) fn hostname() -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_string())
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl Environment {
    pub fn capture(scenario_path: &str, scenario_source: &str) -> Self {
        let backends = crate::registry::all()
            .iter()
            .map(|b| {
                let state = match b.status() {
                    BackendStatus::Ready { runtime_version } => runtime_version,
                    BackendStatus::Unavailable { reason, .. } => format!("unavailable: {reason}"),
                };
                (b.name().to_string(), state)
            })
            .collect();
        Self {
            inferbench_version: env!("CARGO_PKG_VERSION").to_string(),
            git_commit: command_output("git", &["rev-parse", "HEAD"]),
            git_dirty: command_output("git", &["status", "--porcelain", "--untracked-files=no"])
                .map(|s| !s.is_empty()),
            cpu_model: cpu_model(),
            logical_cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
            os: os_name(),
            kernel: command_output("uname", &["-r"]),
            backends,
            scenario_path: scenario_path.to_string(),
            scenario_sha256: sha256_hex(scenario_source.as_bytes()),
            command_line: std::env::args().collect(),
            hostname: hostname(),
            shards: Vec::new(),
            peak: None,
        }
    }
}
