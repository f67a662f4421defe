//! `results.json`: the whole run (environment, every case with its raw
//! samples), rewritten atomically after each case.

use std::io;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::CaseResult;
use super::environment::Environment;
use inferbench_backend::write_atomically;

/// Version of the results.json layout; bumped on breaking changes.
pub const FORMAT: &str = "inferbench-results/1";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunDocument {
    pub format: String,
    pub run_id: String,
    pub scenario: String,
    pub started_at: String,
    pub finished_at: Option<String>,
    /// The signal (`SIGINT`, `SIGTERM`) that stopped the run before its
    /// last case; `null` for a run that finished.
    #[serde(default)]
    pub interrupted: Option<String>,
    pub environment: Environment,
    pub cases: Vec<CaseResult>,
}

pub fn write(path: &Path, doc: &RunDocument) -> io::Result<()> {
    let bytes = serde_json::to_vec_pretty(doc).map_err(io::Error::other)?;
    write_atomically(path, &bytes)
}

pub fn read(path: &Path) -> io::Result<RunDocument> {
    let bytes = std::fs::read(path)?;
    serde_json::from_slice(&bytes).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}
