//! Telemetry as a sink: the finished run, from memory, to every configured
//! exporter (OTLP, Pushgateway, TensorBoard). `inferbench export` sends a
//! stored run through the same exporters.

use std::path::PathBuf;

use super::{RunSink, SinkError};
use crate::export::{Exporter, export_run};
use crate::results::json::RunDocument;

pub struct TelemetrySink {
    exporters: Vec<Box<dyn Exporter>>,
    /// The run folder, named in the warning that says how to re-send.
    run_dir: PathBuf,
}

impl TelemetrySink {
    pub fn new(exporters: Vec<Box<dyn Exporter>>, run_dir: PathBuf) -> Self {
        Self { exporters, run_dir }
    }
}

impl RunSink for TelemetrySink {
    fn name(&self) -> &'static str {
        "telemetry"
    }

    /// Never fails the run: results are on disk, problems are warnings.
    fn run_finished(&mut self, run: &RunDocument) -> Result<(), SinkError> {
        let report = export_run(std::mem::take(&mut self.exporters), run, &self.run_dir);
        report.print();
        Ok(())
    }
}
