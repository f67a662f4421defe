//! The quantization study's picture: accuracy loss against speed-up with
//! the Pareto front, when the run compared precisions.

use std::path::PathBuf;

use super::{RunSink, SinkError};
use crate::results::json::RunDocument;

pub struct ParetoSink {
    run_dir: PathBuf,
}

impl ParetoSink {
    pub fn new(run_dir: PathBuf) -> Self {
        Self { run_dir }
    }
}

impl RunSink for ParetoSink {
    fn name(&self) -> &'static str {
        "the Pareto plot"
    }

    fn run_finished(&mut self, run: &RunDocument) -> Result<(), SinkError> {
        if crate::plots::write_pareto(&self.run_dir, &run.cases, &run.scenario)? > 0 {
            eprintln!("plot: {}", self.run_dir.join("pareto.png").display());
        }
        Ok(())
    }
}
