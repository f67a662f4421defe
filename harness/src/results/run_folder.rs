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
#[error("cannot write results to {}: {source}", path.display())]
pub struct ResultsError {
    pub path: PathBuf,
    pub source: io::Error,
}

/// The folder of a run; the run itself ([`RunDocument`]) is held by whoever
/// drives it and handed in with each write.
pub struct RunFolder {
    pub dir: PathBuf,
    csv: CsvSink,
}

fn at(path: &Path) -> impl FnOnce(io::Error) -> ResultsError + '_ {
    move |source| ResultsError {
        path: path.to_path_buf(),
        source,
    }
}

/// Creates `<root>/<base>`, or `<base>-2`, `-3`… when taken. Only "already
/// exists" moves on to the next suffix: any other error (read-only mount, no
/// permission, a name the file system refuses) would fail for every suffix.
fn create_unique(root: &Path, base: &str) -> Result<(String, PathBuf), ResultsError> {
    for n in 1u32.. {
        let id = if n == 1 {
            base.to_string()
        } else {
            format!("{base}-{n}")
        };
        let dir = root.join(&id);
        match fs::create_dir(&dir) {
            Ok(()) => return Ok((id, dir)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(at(&dir)(e)),
        }
    }
    unreachable!("u32 suffixes run out only after 4 billion run folders of one second")
}

impl RunFolder {
    /// Creates `<root>/<UTC time>-<scenario>/` (suffixed if it exists) with
    /// the environment, a copy of the scenario, an empty results.csv and
    /// the run's results.json, which it returns with the folder.
    pub fn create(
        root: &Path,
        scenario: &str,
        scenario_source: &str,
        environment: Environment,
    ) -> Result<(Self, RunDocument), ResultsError> {
        let started_at = utc_timestamp();
        let stamp: String = started_at
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .collect();
        let base = format!("{stamp}-{scenario}");
        fs::create_dir_all(root).map_err(at(root))?;
        let (run_id, dir) = create_unique(root, &base)?;
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
            interrupted: None,
            environment,
            cases: Vec::new(),
        };
        let folder = Self { dir, csv };
        folder.write_json(&doc)?;
        Ok((folder, doc))
    }

    /// Appends `result`'s row to results.csv and rewrites results.json as
    /// `run` (which holds `result`).
    pub fn record(&mut self, result: &CaseResult, run: &RunDocument) -> Result<(), ResultsError> {
        let csv_path = self.dir.join("results.csv");
        self.csv.append(result).map_err(at(&csv_path))?;
        self.write_json(run)
    }

    /// Rewrites results.json, atomically.
    pub fn write_json(&self, run: &RunDocument) -> Result<(), ResultsError> {
        let path = self.dir.join("results.json");
        json::write(&path, run).map_err(at(&path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn environment() -> Environment {
        Environment::capture("s.toml", "")
    }

    #[test]
    fn taken_names_get_a_suffix() {
        let root = tempfile::tempdir().unwrap();
        let (a, run_a) = RunFolder::create(root.path(), "s", "", environment()).unwrap();
        let (b, run_b) = RunFolder::create(root.path(), "s", "", environment()).unwrap();
        assert_ne!(a.dir, b.dir);
        assert_ne!(run_a.run_id, run_b.run_id);
        assert!(b.dir.ends_with(&run_b.run_id));
    }

    /// Used to spin forever retrying suffixes: every suffix fails the same way.
    #[test]
    fn an_uncreatable_folder_is_an_error_with_the_path_and_reason() {
        let root = tempfile::tempdir().unwrap();
        let e = RunFolder::create(root.path(), "no/such/parent", "", environment())
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("no/such/parent"), "{e}");
        assert!(e.contains("No such file or directory"), "{e}");
        let long = "x".repeat(300);
        let e = RunFolder::create(root.path(), &long, "", environment())
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("File name too long"), "{e}");
    }
}
