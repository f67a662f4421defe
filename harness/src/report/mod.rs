//! One self-contained HTML page per run (`report.html` in the run folder,
//! `inferbench report RUN_DIR`), per comparison (`compare --html`) and for
//! the history (`history --html`): inline CSS and SVG, a few lines of
//! plain script to sort tables, no network. Built from the files a run
//! folder holds, so any run folder renders, old or merged; the raw samples
//! stay in results.json and only histograms and downsampled series enter
//! the page.

mod charts;
mod diff;
mod format;
mod gate_page;
mod history_page;
mod html;
mod reduce;
mod run_folder;
mod run_page;
mod sections;
mod svg;
#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};

pub use gate_page::render_comparison;
pub use history_page::render_history;
pub use run_folder::RunFiles;
pub use run_page::render_run;

/// The file name of a run's page inside its folder.
pub const FILE_NAME: &str = "report.html";

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("{}: not a run folder (no results.json); give the folder `inferbench run` printed", dir.display())]
    NotARun { dir: PathBuf },
    #[error("cannot read {}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: {message}", path.display())]
    Parse { path: PathBuf, message: String },
    #[error("cannot write {}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Writes `html` to `path`, creating its folder.
pub fn write_page(path: &Path, html: &str) -> Result<(), ReportError> {
    let failed = |source| ReportError::Write {
        path: path.to_path_buf(),
        source,
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(failed)?;
    }
    std::fs::write(path, html).map_err(failed)
}

/// Renders the run in `run_dir` into `out` (default: `run_dir/report.html`);
/// returns the path written.
pub fn write_run_report(run_dir: &Path, out: Option<&Path>) -> Result<PathBuf, ReportError> {
    let files = RunFiles::load(run_dir)?;
    let path = out.map_or_else(|| run_dir.join(FILE_NAME), Path::to_path_buf);
    write_page(&path, &render_run(&files))?;
    Ok(path)
}
