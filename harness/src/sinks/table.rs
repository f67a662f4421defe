//! The terminal table of the run's results, on standard output at the end.

use std::path::PathBuf;

use super::{RunSink, SinkError};
use crate::results::json::RunDocument;
use crate::results::table;

pub struct TableSink {
    run_dir: PathBuf,
}

impl TableSink {
    pub fn new(run_dir: PathBuf) -> Self {
        Self { run_dir }
    }
}

impl RunSink for TableSink {
    fn name(&self) -> &'static str {
        "the results table"
    }

    fn run_finished(&mut self, run: &RunDocument) -> Result<(), SinkError> {
        print!("{}", table::render(&run.cases));
        println!("results: {}", self.run_dir.display());
        Ok(())
    }
}
