//! The history store: `results/history.jsonl`, one JSON line per case of
//! every run (summaries only), appended when a run ends. JSON Lines so an
//! append never rewrites what is there and a torn last line loses one case.

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::gate::metric::Metric;
use crate::results::Status;
use crate::results::json::RunDocument;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryEntry {
    pub run_id: String,
    /// When the run started (RFC 3339 UTC).
    pub time: String,
    pub git_commit: Option<String>,
    pub git_dirty: Option<bool>,
    pub scenario: String,
    pub case: String,
    pub status: Status,
    pub iterations: usize,
    #[serde(default, with = "crate::results::float::option")]
    pub p50_ms: Option<f64>,
    #[serde(default, with = "crate::results::float::option")]
    pub p99_ms: Option<f64>,
    #[serde(default, with = "crate::results::float::option")]
    pub tokens_per_s: Option<f64>,
    pub peak_rss_bytes: Option<u64>,
    #[serde(default, with = "crate::results::float::option")]
    pub rel_l2: Option<f64>,
    #[serde(default, with = "crate::results::float::option")]
    pub top1: Option<f64>,
}

impl HistoryEntry {
    pub fn value(&self, metric: Metric) -> Option<f64> {
        match metric {
            Metric::LatencyP5 => None,
            Metric::LatencyP50 => self.p50_ms,
            Metric::LatencyP99 => self.p99_ms,
            Metric::Throughput => self.tokens_per_s,
            Metric::PeakMemory => self.peak_rss_bytes.map(|b| b as f64 / (1u64 << 20) as f64),
            Metric::RelL2 => self.rel_l2,
            Metric::Top1 => self.top1,
        }
    }
}

/// One entry per finished case of a run (a case cut short by a signal, or
/// missing from a merged run, has nothing to add to the history).
pub fn entries_of(doc: &RunDocument) -> Vec<HistoryEntry> {
    doc.cases
        .iter()
        .filter(|r| !matches!(r.status, Status::Interrupted | Status::Missing))
        .map(|r| HistoryEntry {
            run_id: doc.run_id.clone(),
            time: doc.started_at.clone(),
            git_commit: doc.environment.git_commit.clone(),
            git_dirty: doc.environment.git_dirty,
            scenario: doc.scenario.clone(),
            case: r.case.id.clone(),
            status: r.status,
            iterations: r.iterations,
            p50_ms: r.latency_ms.map(|l| l.p50),
            p99_ms: r.latency_ms.map(|l| l.p99),
            tokens_per_s: r.throughput_tokens_per_s,
            peak_rss_bytes: r.peak_rss_bytes,
            rel_l2: r.accuracy.map(|a| a.rel_l2),
            top1: r.accuracy.map(|a| a.top1),
        })
        .collect()
}

/// The history file beside a runs folder: `results/runs` → `results/history.jsonl`.
pub fn default_path(runs_dir: &Path) -> PathBuf {
    runs_dir.parent().map_or_else(
        || PathBuf::from("history.jsonl"),
        |p| p.join("history.jsonl"),
    )
}

#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    #[error("cannot read the history {}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cannot append to the history {}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{}:{line}: not a history entry: {message}", path.display())]
    Invalid {
        path: PathBuf,
        line: usize,
        message: String,
    },
}

pub fn append(path: &Path, entries: &[HistoryEntry]) -> Result<(), HistoryError> {
    let failed = |source| HistoryError::Write {
        path: path.to_path_buf(),
        source,
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        fs::create_dir_all(dir).map_err(failed)?;
    }
    // A run killed mid-append leaves a last line without its newline;
    // ending that line first keeps the new entries whole lines of their own
    // (they used to be glued onto the torn one and lost with it).
    let mut text = String::new();
    if ends_torn(path).map_err(failed)? {
        text.push('\n');
    }
    for e in entries {
        text.push_str(&serde_json::to_string(e).expect("plain data is JSON"));
        text.push('\n');
    }
    // One write call per run, in append mode: concurrent runs interleave
    // whole runs, not half lines.
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .and_then(|mut f| f.write_all(text.as_bytes()))
        .map_err(failed)
}

/// Whether the file's last byte is not a newline (empty or missing: no).
fn ends_torn(path: &Path) -> io::Result<bool> {
    use std::io::{Read, Seek, SeekFrom};
    let mut file = match fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(e),
    };
    if file.metadata()?.len() == 0 {
        return Ok(false);
    }
    file.seek(SeekFrom::End(-1))?;
    let mut last = [0u8];
    file.read_exact(&mut last)?;
    Ok(last[0] != b'\n')
}

/// The entries of a history file, and the lines that were torn.
#[derive(Debug, Default)]
pub struct History {
    pub entries: Vec<HistoryEntry>,
    /// 1-based numbers of lines cut short by a crash mid-append: skipped.
    pub torn_lines: Vec<usize>,
}

/// Every entry, in file order. A torn line (JSON cut short: a run killed
/// mid-append) is skipped and listed; any other bad line is an error naming it.
pub fn read(path: &Path) -> Result<History, HistoryError> {
    let text = fs::read_to_string(path).map_err(|source| HistoryError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let mut out = History::default();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str(line) {
            Ok(e) => out.entries.push(e),
            Err(e) if e.is_eof() => out.torn_lines.push(i + 1),
            Err(e) => {
                return Err(HistoryError::Invalid {
                    path: path.to_path_buf(),
                    line: i + 1,
                    message: e.to_string(),
                });
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn entry(run: usize, case: &str, p50: f64) -> HistoryEntry {
        HistoryEntry {
            run_id: format!("run{run:02}"),
            time: format!("2026-11-28T12:{run:02}:00Z"),
            git_commit: Some(format!("{run:02}{}", "c".repeat(38))),
            git_dirty: Some(false),
            scenario: "ci".into(),
            case: case.into(),
            status: Status::Measured,
            iterations: 100,
            p50_ms: Some(p50),
            p99_ms: Some(p50 * 1.2),
            tokens_per_s: Some(16.0 / (p50 * 1e-3)),
            peak_rss_bytes: Some(64 << 20),
            rel_l2: Some(1e-7),
            top1: Some(1.0),
        }
    }

    #[test]
    fn appends_and_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("results/history.jsonl");
        append(&path, &[entry(1, "a", 1.0), entry(1, "b", 2.0)]).unwrap();
        append(&path, &[entry(2, "a", 1.1)]).unwrap();
        let back = read(&path).unwrap().entries;
        assert_eq!(back.len(), 3);
        assert_eq!(back[2], entry(2, "a", 1.1));
        assert_eq!(back[0].value(Metric::PeakMemory), Some(64.0));
    }

    #[test]
    fn a_torn_line_is_reported_and_skipped_a_bad_line_is_located() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("h.jsonl");
        append(&path, &[entry(1, "a", 1.0)]).unwrap();
        let mut text = fs::read_to_string(&path).unwrap();
        text.push_str("{\"run_id\": \"x\", \"ti");
        fs::write(&path, &text).unwrap();
        let history = read(&path).unwrap();
        assert_eq!((history.entries.len(), history.torn_lines), (1, vec![2]));
        // The next append used to glue its entry onto the torn line, and
        // every later read failed.
        append(&path, &[entry(2, "a", 1.1)]).unwrap();
        let history = read(&path).unwrap();
        assert_eq!(history.entries, [entry(1, "a", 1.0), entry(2, "a", 1.1)]);
        assert_eq!(history.torn_lines, [2]);
        fs::write(&path, "{\"run_id\": 3}\n").unwrap();
        let e = read(&path).unwrap_err().to_string();
        assert!(e.contains("h.jsonl:1: not a history entry"), "{e}");
    }

    #[test]
    fn lives_beside_the_runs_folder() {
        assert_eq!(
            default_path(Path::new("results/runs")),
            Path::new("results/history.jsonl")
        );
    }
}
