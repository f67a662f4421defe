//! The TensorBoard sink: scalar summaries in a tfevents file, one tag per
//! figure and case (`inferbench.latency.p50/<case id>`), step = the run's
//! sequence number in the log folder, so each metric's chart shows the runs
//! in order.
//!
//! The sequence comes from `inferbench-runs.txt` in the folder, one run id
//! a line: a new run is appended, a re-exported run keeps its number and
//! rewrites its own file.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::figures;
use super::tfrecord::{file_version_event, record, scalars_event};
use super::{ExportError, Exporter};
use crate::results::json::RunDocument;

pub const LEDGER: &str = "inferbench-runs.txt";

pub struct TensorBoardExporter {
    dir: PathBuf,
}

impl TensorBoardExporter {
    pub fn new(dir: &Path) -> Self {
        Self {
            dir: dir.to_path_buf(),
        }
    }

    /// The run's step: its 1-based line in the ledger, appended if new.
    fn sequence_number(&self, run_id: &str) -> Result<i64, ExportError> {
        let path = self.dir.join(LEDGER);
        let io = |cause| ExportError::Io {
            path: path.clone(),
            cause,
        };
        let text = match fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(io(e)),
        };
        let ids: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
        if let Some(i) = ids.iter().position(|id| *id == run_id) {
            return Ok(i as i64 + 1);
        }
        let mut file = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(io)?;
        writeln!(file, "{run_id}").map_err(io)?;
        Ok(ids.len() as i64 + 1)
    }
}

/// Every scalar of a run: the figures of each case, and the number of
/// cases per outcome.
pub fn scalars(run: &RunDocument) -> Vec<(String, f32)> {
    let mut out = Vec::new();
    for r in &run.cases {
        for f in figures::of(r) {
            out.push((format!("{}/{}", f.name, r.case.id), f.value as f32));
        }
    }
    for status in ["measured", "skipped", "error", "failed"] {
        let n = run
            .cases
            .iter()
            .filter(|r| r.status.as_str() == status)
            .count();
        out.push((format!("{}/{status}", figures::CASES_COUNTER), n as f32));
    }
    out
}

impl Exporter for TensorBoardExporter {
    fn describe(&self) -> String {
        format!("TensorBoard {}", self.dir.display())
    }

    fn deadline(&self) -> Duration {
        Duration::from_secs(30)
    }

    fn export(&self, run: &RunDocument) -> Result<(), ExportError> {
        fs::create_dir_all(&self.dir).map_err(|cause| ExportError::Io {
            path: self.dir.clone(),
            cause,
        })?;
        let step = self.sequence_number(&run.run_id)?;
        let wall_time = run
            .cases
            .iter()
            .filter_map(|r| r.finished_at_unix_ns)
            .max()
            .map_or_else(
                || crate::time::unix_nanos() as f64 * 1e-9,
                |ns| ns as f64 * 1e-9,
            );
        let mut bytes = record(&file_version_event(wall_time));
        bytes.extend(record(&scalars_event(wall_time, step, &scalars(run))));
        // "tfevents" in the name is what TensorBoard looks for; the step
        // keeps the files in run order and makes a re-export overwrite.
        let path = self
            .dir
            .join(format!("events.out.tfevents.{step:010}.inferbench"));
        inferbench_backend::write_atomically(&path, &bytes)
            .map_err(|cause| ExportError::Io { path, cause })
    }
}
