//! A run's folder, `results/runs/<run-id>/`, kept up to date as each case
//! ends: an interrupted run keeps everything it measured.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use super::CaseResult;
use super::csv::CsvSink;
use super::environment::Environment;
use super::json::{self, FORMAT, RunDocument};
use crate::time::utc_timestamp;

#[derive(Debug, thiserror::Error)]
#[error("cannot write results to {}", path.display())]
pub struct ResultsError {
    pub path: PathBuf,
    #[source]
    pub source: io::Error,
}

pub struct RunFolder {
    pub dir: PathBuf,
    csv: CsvSink,
    doc: RunDocument,
}

fn at(path: &Path) -> impl FnOnce(io::Error) -> ResultsError + '_ {
    move |source| ResultsError {
        path: path.to_path_buf(),
        source,
    }
}

impl RunFolder {
    /// Creates `<root>/<UTC time>-<scenario>/` (suffixed if it exists) with
    /// the environment, a copy of the scenario, and an empty results.csv.
    pub fn create(
        root: &Path,
        scenario: &str,
        scenario_source: &str,
        environment: Environment,
    ) -> Result<Self, ResultsError> {
        let started_at = utc_timestamp();
        let stamp: String = started_at
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .collect();
        let base = format!("{stamp}-{scenario}");
        fs::create_dir_all(root).map_err(at(root))?;
        let (run_id, dir) = (1..)
            .map(|n| {
                if n == 1 {
                    base.clone()
                } else {
                    format!("{base}-{n}")
                }
            })
            .map(|id| (id.clone(), root.join(id)))
            .find(|(_, d)| fs::create_dir(d).is_ok())
            .expect("some suffix is free");
        fs::write(dir.join("scenario.toml"), scenario_source).map_err(at(&dir))?;
        let env_path = dir.join("environment.json");
        let env_json = serde_json::to_vec_pretty(&environment)
            .map_err(io::Error::other)
            .map_err(at(&env_path))?;
        fs::write(&env_path, env_json).map_err(at(&env_path))?;
        let csv_path = dir.join("results.csv");
        let csv = CsvSink::create(&csv_path).map_err(at(&csv_path))?;
        let doc = RunDocument {
            format: FORMAT.to_string(),
            run_id,
            scenario: scenario.to_string(),
            started_at,
            finished_at: None,
            environment,
            cases: Vec::new(),
        };
        let folder = Self { dir, csv, doc };
        folder.write_json()?;
        Ok(folder)
    }

    pub fn run_id(&self) -> &str {
        &self.doc.run_id
    }

    pub fn results(&self) -> &[CaseResult] {
        &self.doc.cases
    }

    pub fn record(&mut self, result: CaseResult) -> Result<(), ResultsError> {
        let csv_path = self.dir.join("results.csv");
        self.csv.append(&result).map_err(at(&csv_path))?;
        self.doc.cases.push(result);
        self.write_json()
    }

    pub fn finish(&mut self) -> Result<(), ResultsError> {
        self.doc.finished_at = Some(utc_timestamp());
        self.write_json()
    }

    fn write_json(&self) -> Result<(), ResultsError> {
        let path = self.dir.join("results.json");
        json::write(&path, &self.doc).map_err(at(&path))
    }
}
