//! The progress line on the terminal: a bar with the case being run, and
//! what the runner waits for when a worker stalls.

use indicatif::{ProgressBar, ProgressStyle};

use super::{RunSink, SinkError};
use crate::results::CaseResult;
use crate::results::json::RunDocument;
use crate::runner::WaitNotice;
use crate::scenario::Case;

pub struct ProgressSink {
    bar: ProgressBar,
}

impl ProgressSink {
    pub fn new(cases: usize) -> Self {
        let bar = ProgressBar::new(cases as u64);
        bar.set_style(
            ProgressStyle::with_template("{bar:30} {pos}/{len} {elapsed_precise} {msg}")
                .expect("valid template"),
        );
        Self { bar }
    }

    /// The bar, for sinks that print while it is shown (they suspend it).
    pub fn bar(&self) -> ProgressBar {
        self.bar.clone()
    }

    /// Shows what a stalled worker waits for on the progress line.
    pub fn wait_notice(&self) -> WaitNotice {
        let bar = self.bar.clone();
        WaitNotice(std::sync::Arc::new(move |m: &str| {
            bar.set_message(m.to_string())
        }))
    }
}

impl RunSink for ProgressSink {
    fn name(&self) -> &'static str {
        "the progress line"
    }

    fn case_started(&mut self, case: &Case) {
        self.bar.set_message(case.id.clone());
    }

    fn case_finished(&mut self, _: &CaseResult, _: &RunDocument) -> Result<(), SinkError> {
        self.bar.inc(1);
        Ok(())
    }

    fn run_finished(&mut self, _: &RunDocument) -> Result<(), SinkError> {
        self.bar.finish_and_clear();
        Ok(())
    }
}
