//! Saved baselines: `results/baselines/<name>.json`, meant to be committed.
//! A baseline keeps only what the gate needs (per case: status, raw samples,
//! peak memory, accuracy) plus where it came from, one case per line so a
//! baseline update reads as a diff of the cases that changed.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::record::CaseRecord;
use super::side::Side;
use crate::time::utc_timestamp;
use inferbench_backend::write_atomically;

pub const FORMAT: &str = "inferbench-baseline/1";

/// Where `baseline save` writes and `--baseline NAME` reads by default.
pub const DEFAULT_DIR: &str = "results/baselines";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BaselineDocument {
    pub format: String,
    pub name: String,
    pub created_at: String,
    /// The run folder(s) it was made from.
    pub source: String,
    pub scenario: String,
    pub git_commit: Option<String>,
    pub cpu_model: Option<String>,
    /// Where the runs ran (CPU, cores, OS, compiled backends and runtime
    /// versions); absent in baselines saved before it was kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<super::validity::SideEnvironment>,
    pub cases: Vec<CaseRecord>,
}

#[derive(Debug, thiserror::Error)]
pub enum BaselineError {
    #[error(
        "baseline name `{0}` may only hold letters, digits, `-`, `_` and `.` (it becomes a file name)"
    )]
    BadName(String),
    #[error("cannot write baseline {}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cannot read baseline {}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{} is not an inferbench baseline: {reason}", path.display())]
    Invalid { path: PathBuf, reason: String },
    #[error("{} has no measured case to save", .0)]
    Empty(String),
}

pub fn path_for(dir: &Path, name: &str) -> Result<PathBuf, BaselineError> {
    let valid = !name.is_empty()
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if !valid {
        return Err(BaselineError::BadName(name.to_string()));
    }
    Ok(dir.join(format!("{name}.json")))
}

impl BaselineDocument {
    pub fn from_side(name: &str, side: &Side) -> Result<Self, BaselineError> {
        if !side.cases.iter().any(CaseRecord::measured) {
            return Err(BaselineError::Empty(side.label.clone()));
        }
        Ok(Self {
            format: FORMAT.to_string(),
            name: name.to_string(),
            created_at: utc_timestamp(),
            source: side.label.clone(),
            scenario: side.scenario.clone(),
            git_commit: side.git_commit.clone(),
            cpu_model: side.environment.cpu_model.clone(),
            environment: Some(side.environment.clone()),
            cases: side.cases.clone(),
        })
    }

    /// JSON with one case per line.
    pub fn to_json(&self) -> String {
        let header = Self {
            cases: Vec::new(),
            ..self.clone()
        };
        let mut text = serde_json::to_string_pretty(&header).expect("plain data is JSON");
        let cases: Vec<String> = self
            .cases
            .iter()
            .map(|c| {
                format!(
                    "    {}",
                    serde_json::to_string(c).expect("plain data is JSON")
                )
            })
            .collect();
        let body = if cases.is_empty() {
            "[]".to_string()
        } else {
            format!("[\n{}\n  ]", cases.join(",\n"))
        };
        text = text.replacen("\"cases\": []", &format!("\"cases\": {body}"), 1);
        text.push('\n');
        text
    }

    pub fn save(&self, path: &Path) -> Result<(), BaselineError> {
        let write = |source| BaselineError::Write {
            path: path.to_path_buf(),
            source,
        };
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir).map_err(write)?;
        }
        write_atomically(path, self.to_json().as_bytes()).map_err(write)
    }

    pub fn load(path: &Path) -> Result<Self, BaselineError> {
        let bytes = fs::read(path).map_err(|source| BaselineError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let invalid = |reason: String| BaselineError::Invalid {
            path: path.to_path_buf(),
            reason,
        };
        let doc: Self = serde_json::from_slice(&bytes).map_err(|e| invalid(e.to_string()))?;
        if doc.format != FORMAT {
            return Err(invalid(format!(
                "format `{}`, this inferbench reads `{FORMAT}`",
                doc.format
            )));
        }
        Ok(doc)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::Status;

    fn side() -> Side {
        Side {
            label: "results/runs/x".into(),
            kind: super::super::side::SideKind::Run,
            scenario: "ci".into(),
            git_commit: Some("abc".into()),
            environment: Default::default(),
            gate: None,
            cases: vec![CaseRecord {
                id: "m/candle/cpu/f32/b1/t8/th1".into(),
                status: Status::Measured,
                message: None,
                tokens_per_forward: 8,
                runs: 1,
                peak_rss_bytes: Some(1 << 20),
                accuracy: None,
                samples_ns: vec![1000, 1100],
                run_sizes: Vec::new(),
                cpu_samples_ns: Vec::new(),
            }],
        }
    }

    #[test]
    fn round_trips_with_one_case_per_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = path_for(dir.path(), "ci").unwrap();
        let doc = BaselineDocument::from_side("ci", &side()).unwrap();
        doc.save(&path).unwrap();
        let text = fs::read_to_string(&path).unwrap();
        assert!(
            text.contains("\n    {\"id\":\"m/candle/cpu/f32/b1/t8/th1\","),
            "{text}"
        );
        let back = BaselineDocument::load(&path).unwrap();
        assert_eq!(back.cases, doc.cases);
        assert_eq!(back.git_commit.as_deref(), Some("abc"));
    }

    #[test]
    fn names_that_are_not_file_names_are_refused() {
        assert!(path_for(Path::new("b"), "../x").is_err());
        assert!(path_for(Path::new("b"), "").is_err());
        assert_eq!(
            path_for(Path::new("b"), "ci-2").unwrap(),
            Path::new("b/ci-2.json")
        );
    }

    #[test]
    fn a_run_without_measurements_is_refused() {
        let mut s = side();
        s.cases[0].status = Status::Skipped;
        assert!(matches!(
            BaselineDocument::from_side("x", &s),
            Err(BaselineError::Empty(_))
        ));
    }

    #[test]
    fn other_json_is_refused_with_the_reason() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.json");
        fs::write(&path, "{\"format\": \"inferbench-results/1\"}").unwrap();
        let e = BaselineDocument::load(&path).unwrap_err().to_string();
        assert!(e.contains("is not an inferbench baseline"), "{e}");
    }
}
