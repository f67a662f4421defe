//! Warnings with their fix, printed as each case ends (above the progress
//! line).

use indicatif::ProgressBar;

use super::{RunSink, SinkError};
use crate::results::CaseResult;
use crate::results::json::RunDocument;
use crate::warnings::for_result;

pub struct WarningsSink {
    cores: usize,
    bar: ProgressBar,
}

impl WarningsSink {
    /// `bar` is the progress line the warnings print above.
    pub fn new(cores: usize, bar: ProgressBar) -> Self {
        Self { cores, bar }
    }
}

impl RunSink for WarningsSink {
    fn name(&self) -> &'static str {
        "the warnings"
    }

    fn case_finished(&mut self, result: &CaseResult, _: &RunDocument) -> Result<(), SinkError> {
        for w in for_result(result, self.cores) {
            self.bar.suspend(|| eprintln!("warning: {w}"));
        }
        Ok(())
    }
}
