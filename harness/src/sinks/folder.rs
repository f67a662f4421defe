//! The run folder as a sink: `results.csv` gains a row and `results.json`
//! is rewritten after every case, so an interrupted run keeps everything it
//! measured.

use super::{RunSink, SinkError};
use crate::results::json::RunDocument;
use crate::results::{CaseResult, RunFolder};

impl RunSink for RunFolder {
    fn name(&self) -> &'static str {
        "the run folder"
    }

    fn required(&self) -> bool {
        true
    }

    fn case_finished(&mut self, result: &CaseResult, run: &RunDocument) -> Result<(), SinkError> {
        Ok(self.record(result, run)?)
    }

    fn run_finished(&mut self, run: &RunDocument) -> Result<(), SinkError> {
        Ok(self.write_json(run)?)
    }
}
