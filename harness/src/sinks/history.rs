//! The run history as a sink: the run's case summaries are appended to the
//! history store (`history.jsonl`), where `inferbench history` finds change
//! points.

use std::path::PathBuf;

use super::{RunSink, SinkError};
use crate::history::store;
use crate::results::json::RunDocument;

pub struct HistorySink {
    file: PathBuf,
}

impl HistorySink {
    pub fn new(file: PathBuf) -> Self {
        Self { file }
    }
}

impl RunSink for HistorySink {
    fn name(&self) -> &'static str {
        "the run history"
    }

    fn run_finished(&mut self, run: &RunDocument) -> Result<(), SinkError> {
        store::append(&self.file, &store::entries_of(run))?;
        Ok(())
    }
}
