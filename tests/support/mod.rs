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

/// The rows of a `results.csv`, each column by name.
#[allow(dead_code)] // not every test crate sharing the module reads CSV
pub fn read_csv(path: &Path) -> Vec<std::collections::HashMap<String, String>> {
    let mut reader = csv::Reader::from_path(path).unwrap();
    let headers = reader.headers().unwrap().clone();
    reader
        .records()
        .map(|r| {
            headers
                .iter()
                .map(String::from)
                .zip(r.unwrap().iter().map(String::from))
                .collect()
        })
        .collect()
}

pub mod chromium;
pub mod receivers;
pub mod rotel_output;
