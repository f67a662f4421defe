//! What a page about a run reads from its folder: results.json (typed, and
//! as plain JSON for fields newer than this build, such as generated
//! text), the scenario's description, and the list of files beside them.

use std::path::{Path, PathBuf};

use super::ReportError;
use crate::results::json::RunDocument;

pub struct RunFiles {
    pub dir: PathBuf,
    pub doc: RunDocument,
    /// results.json as plain JSON, case `i` at `cases[i]`.
    pub raw: serde_json::Value,
    /// The scenario's `description`, from the copy in the folder.
    pub description: Option<String>,
    /// File names in the folder, sorted (the page lists what else is there).
    pub files: Vec<String>,
}

fn read(path: &Path) -> Result<Vec<u8>, ReportError> {
    std::fs::read(path).map_err(|source| ReportError::Read {
        path: path.to_path_buf(),
        source,
    })
}

impl RunFiles {
    pub fn load(dir: &Path) -> Result<Self, ReportError> {
        let path = dir.join("results.json");
        if !path.is_file() {
            return Err(ReportError::NotARun {
                dir: dir.to_path_buf(),
            });
        }
        let bytes = read(&path)?;
        let parse = |e: serde_json::Error| ReportError::Parse {
            path: path.clone(),
            message: e.to_string(),
        };
        let doc: RunDocument = serde_json::from_slice(&bytes).map_err(parse)?;
        let raw: serde_json::Value = serde_json::from_slice(&bytes).map_err(parse)?;
        let description = std::fs::read_to_string(dir.join("scenario.toml"))
            .ok()
            .and_then(|text| toml::from_str::<toml::Table>(&text).ok())
            .and_then(|t| t.get("description")?.as_str().map(str::to_string));
        let mut files: Vec<String> = std::fs::read_dir(dir)
            .map(|entries| {
                entries
                    .filter_map(|e| e.ok()?.file_name().into_string().ok())
                    .collect()
            })
            .unwrap_or_default();
        files.sort();
        Ok(Self {
            dir: dir.to_path_buf(),
            doc,
            raw,
            description,
            files,
        })
    }

    /// Case `index` of results.json as plain JSON.
    pub fn raw_case(&self, index: usize) -> Option<&serde_json::Value> {
        self.raw.get("cases")?.get(index)
    }
}
