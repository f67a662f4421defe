//! Helpers shared by the integration tests.

use std::path::{Path, PathBuf};

/// The newest run folder `inferbench run --out OUT` wrote (names start
/// with the UTC start time, so the last in order).
#[allow(dead_code)] // telemetry.rs shares the module and does not use it
pub fn newest_run(out: &Path) -> PathBuf {
    let mut runs: Vec<PathBuf> = std::fs::read_dir(out)
        .unwrap_or_else(|e| panic!("{}: {e}", out.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    runs.sort();
    runs.pop()
        .unwrap_or_else(|| panic!("no run folder in {}", out.display()))
}

pub mod chromium;
pub mod receivers;
pub mod rotel_output;
