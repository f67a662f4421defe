//! Files a scenario names (model files, golden outputs) are relative to the
//! scenario file; they are made absolute once, so worker processes and run
//! folders agree, and checked to exist before anything runs.

use std::path::{Path, PathBuf};

use super::Case;
use super::expand::Invalid;

fn resolve(base: &Path, path: &Path, key: &str, is_dir: bool) -> Result<PathBuf, Invalid> {
    let full = if path.is_absolute() {
        path.to_path_buf()
    } else {
        base.join(path)
    };
    let found = if is_dir { full.is_dir() } else { full.is_file() };
    if !found {
        return Err(Invalid {
            key: key.into(),
            group: None,
            message: format!(
                "{} `{}` does not exist (looked for {})",
                if is_dir { "folder" } else { "file" },
                path.display(),
                full.display()
            ),
        });
    }
    Ok(full)
}

/// Resolves every case's model file, golden folder and reference file
/// against `base`, the scenario file's folder.
pub fn resolve_case_paths(cases: &mut [Case], base: &Path) -> Result<(), Invalid> {
    for case in cases {
        if let Some(file) = &mut case.model.file {
            file.path = resolve(base, &file.path, "file", false)?;
        }
        if let Some(golden) = &case.golden {
            case.golden = Some(resolve(base, golden, "golden", true)?);
        }
        if let Some(reference) = &mut case.reference_case {
            reference.file = resolve(base, &reference.file, "file", false)?;
        }
    }
    Ok(())
}
