//! Measured peaks kept under the cache folder (`<cache>/peak/`), so that
//! `run --peak` does not measure again what this machine already measured
//! with the same runtime. A row's file is named by the SHA-256 of what its
//! figure depends on: the machine (host name, CPU model, logical cores),
//! the backend and its runtime version, the precision, the threads and
//! inferbench's version. Anything of those changed (a new libtorch,
//! another CPU) is another file, measured afresh. The settings are not
//! part of the name: `inferbench peak` always measures, with the settings
//! it is given, and its rows replace the files, so a run reads the peak
//! last measured here (its sizes are in the row).
//!
//! Only measured rows are kept: a row that could not be measured is tried
//! again next time (refusals cost a process start, failures may pass).

use std::path::{Path, PathBuf};

use inferbench_backend::write_atomically;
use serde::Serialize;

use super::{PeakOutcome, PeakRow};
use crate::results::environment::{cpu_model, hostname, sha256_hex};

/// Bumped when what a row's figure means changes (the timing, the
/// operands), so older files are not read as current.
const FORMAT: &str = "inferbench-peak/1";

/// The `<cache>/peak` folder.
pub struct PeakCache {
    dir: PathBuf,
}

/// Everything a cached row's figure depends on.
#[derive(Serialize)]
struct Key<'a> {
    format: &'a str,
    inferbench: &'a str,
    hostname: Option<String>,
    cpu_model: Option<String>,
    logical_cores: usize,
    backend: &'a str,
    runtime_version: Option<&'a str>,
    precision: inferbench_backend::Precision,
    threads: usize,
}

impl PeakCache {
    pub fn new(cache_dir: &Path) -> Self {
        Self {
            dir: cache_dir.join("peak"),
        }
    }

    fn path(&self, row: &PeakRow) -> PathBuf {
        let key = Key {
            format: FORMAT,
            inferbench: env!("CARGO_PKG_VERSION"),
            hostname: hostname(),
            cpu_model: cpu_model(),
            logical_cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
            backend: &row.backend,
            runtime_version: row.runtime_version.as_deref(),
            precision: row.precision,
            threads: row.threads,
        };
        let json = serde_json::to_vec(&key).expect("a key is plain values");
        let name = format!("{}.json", &sha256_hex(&json)[..32]);
        self.dir.join(name)
    }

    /// The measured row cached for `wanted`'s backend, runtime, precision
    /// and threads, if any (an unreadable file is none).
    pub fn get(&self, wanted: &PeakRow) -> Option<PeakRow> {
        let bytes = std::fs::read(self.path(wanted)).ok()?;
        let row: PeakRow = serde_json::from_slice(&bytes).ok()?;
        matches!(row.outcome, PeakOutcome::Measured { .. }).then_some(row)
    }

    /// Keeps a measured row; others are not kept. A cache that cannot be
    /// written costs a measurement next time, so its error is a warning.
    pub fn put(&self, row: &PeakRow) {
        if !matches!(row.outcome, PeakOutcome::Measured { .. }) {
            return;
        }
        let path = self.path(row);
        let written = std::fs::create_dir_all(&self.dir).and_then(|()| {
            let json = serde_json::to_vec_pretty(row).map_err(std::io::Error::other)?;
            write_atomically(&path, &json)
        });
        if let Err(e) = written {
            eprintln!(
                "warning: the measured peak was not cached in {}: {e}",
                path.display()
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use inferbench_backend::Precision;

    fn row(runtime: &str, outcome: PeakOutcome) -> PeakRow {
        PeakRow {
            backend: "candle".into(),
            runtime_version: Some(runtime.into()),
            precision: Precision::F32,
            threads: 2,
            outcome,
        }
    }

    fn measured() -> PeakOutcome {
        PeakOutcome::Measured {
            gflop_per_s: 99.5,
            size: 1024,
            by_size: Vec::new(),
            measured_at: "2026-12-03T08:00:00Z".into(),
        }
    }

    #[test]
    fn a_measured_row_is_found_again_only_for_the_same_runtime_and_threads() {
        let dir = tempfile::tempdir().unwrap();
        let cache = PeakCache::new(dir.path());
        let kept = row("candle-core 0.11.1", measured());
        assert_eq!(cache.get(&kept), None);
        cache.put(&kept);
        assert_eq!(cache.get(&kept), Some(kept.clone()));
        let newer = row("candle-core 0.12.0", measured());
        assert_eq!(cache.get(&newer), None);
        let one_thread = PeakRow {
            threads: 1,
            ..kept.clone()
        };
        assert_eq!(cache.get(&one_thread), None);
        let refused = PeakOutcome::NotMeasured {
            reason: "no".into(),
        };
        let other = row("x 1", refused);
        cache.put(&other);
        assert_eq!(cache.get(&other), None);
    }
}
