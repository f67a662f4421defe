//! The HTML report, written into the run folder at the end of the run. It
//! is built from the folder's files, as `inferbench report` builds it, so
//! the two cannot differ.

use std::path::PathBuf;

use super::{RunSink, SinkError};
use crate::results::json::RunDocument;

pub struct ReportSink {
    run_dir: PathBuf,
}

impl ReportSink {
    pub fn new(run_dir: PathBuf) -> Self {
        Self { run_dir }
    }
}

impl RunSink for ReportSink {
    fn name(&self) -> &'static str {
        "the HTML report"
    }

    fn run_finished(&mut self, _: &RunDocument) -> Result<(), SinkError> {
        let path = crate::report::write_run_report(&self.run_dir, None)?;
        eprintln!("report: {}", path.display());
        Ok(())
    }
}
