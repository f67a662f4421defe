//! Telemetry sinks for finished runs: OTLP (metrics and traces), a
//! Prometheus Pushgateway, and TensorBoard event files.
//!
//! Each sink is one file behind the [`Exporter`] trait and consumes the
//! [`RunDocument`] that `results.json` holds, so a live run and
//! `inferbench export RUN_DIR` go through the same code. Exporting never
//! fails a benchmark: every sink runs under a deadline ([`bounded`]) and a
//! failure becomes one warning that says how to re-send the run.

mod bounded;
pub mod figures;
pub mod labels;
pub mod otlp;
mod otlp_config;
pub(crate) mod otlp_metrics;
pub(crate) mod otlp_traces;
pub mod pushgateway;
pub mod tensorboard;
mod tfrecord;

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::results::json::RunDocument;

pub use otlp_config::{OtlpConfig, OtlpOptions, Protocol};

/// Why a sink could not deliver a run. The message names the target.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("{target}: {reason}")]
    Delivery { target: String, reason: String },
    #[error("{target}: no answer within {} s", .after.as_secs_f64())]
    Timeout { target: String, after: Duration },
    // The cause is in the message, not also a `#[source]`: `{:#}` would
    // print it twice.
    #[error("cannot write {}: {cause}", path.display())]
    Io {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error("cannot read the run {}: {cause}", path.display())]
    Read {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error("invalid telemetry configuration: {0}")]
    Config(String),
}

/// A destination for finished runs.
pub trait Exporter: Send + Sync {
    /// What the sink is and where it sends, for messages: "OTLP http://…".
    fn describe(&self) -> String;

    /// Sends the whole run. Must return within [`Exporter::deadline`] of
    /// being called in normal operation; [`export_run`] enforces it anyway.
    fn export(&self, run: &RunDocument) -> Result<(), ExportError>;

    /// The longest [`export_run`] waits for this sink.
    fn deadline(&self) -> Duration;
}

/// The telemetry options of `inferbench run` and `inferbench export`.
#[derive(Debug, Default, Clone, clap::Args)]
pub struct TelemetryOptions {
    /// Send the run over OTLP to this endpoint (e.g. http://localhost:4318
    /// for OTLP/HTTP, http://localhost:4317 for gRPC; https:// for TLS)
    /// [default: $OTEL_EXPORTER_OTLP_ENDPOINT].
    #[arg(long, value_name = "ENDPOINT")]
    pub otlp: Option<String>,
    /// OTLP protocol: grpc or http/protobuf [default:
    /// $OTEL_EXPORTER_OTLP_PROTOCOL, else http/protobuf].
    #[arg(long, value_name = "PROTOCOL")]
    pub otlp_protocol: Option<String>,
    /// Push the run's figures to this Prometheus Pushgateway
    /// (e.g. http://localhost:9091).
    #[arg(long, value_name = "URL")]
    pub pushgateway: Option<String>,
    /// Write TensorBoard scalar summaries into this folder.
    #[arg(long, value_name = "DIR")]
    pub tensorboard: Option<PathBuf>,
}

impl TelemetryOptions {
    /// The configured sinks; `Err` for a configuration that cannot work
    /// (an unknown protocol, an endpoint without scheme), found before
    /// anything is measured.
    pub fn exporters(&self) -> Result<Vec<Box<dyn Exporter>>, ExportError> {
        let mut out: Vec<Box<dyn Exporter>> = Vec::new();
        let otlp = OtlpOptions {
            endpoint: self.otlp.clone(),
            protocol: self.otlp_protocol.clone(),
        };
        if let Some(config) = OtlpConfig::resolve(&otlp)? {
            out.push(Box::new(otlp::OtlpExporter::new(config)));
        }
        if let Some(url) = &self.pushgateway {
            out.push(Box::new(pushgateway::PushgatewayExporter::new(url)?));
        }
        if let Some(dir) = &self.tensorboard {
            out.push(Box::new(tensorboard::TensorBoardExporter::new(dir)));
        }
        Ok(out)
    }
}

/// What happened to a run's telemetry.
#[derive(Debug, Default)]
pub struct ExportReport {
    /// The sinks that took the run.
    pub sent: Vec<String>,
    /// One warning per sink that did not, each with the way to retry.
    pub warnings: Vec<String>,
}

impl ExportReport {
    /// Prints what telemetry did; `true` when every sink took the run.
    pub fn print(&self) -> bool {
        for sent in &self.sent {
            eprintln!("telemetry: sent to {sent}");
        }
        for warning in &self.warnings {
            eprintln!("warning: {warning}");
        }
        self.warnings.is_empty()
    }
}

/// Sends the run stored in `run_dir` (its `results.json`) to every sink.
pub fn export_run_dir(
    exporters: Vec<Box<dyn Exporter>>,
    run_dir: &Path,
) -> Result<ExportReport, ExportError> {
    let path = run_dir.join("results.json");
    let run = crate::results::json::read(&path).map_err(|cause| ExportError::Read {
        path: path.clone(),
        cause,
    })?;
    Ok(export_run(exporters, &run, run_dir))
}

/// Sends `run` to every sink, all at once, each under its deadline.
pub fn export_run(
    exporters: Vec<Box<dyn Exporter>>,
    run: &RunDocument,
    run_dir: &Path,
) -> ExportReport {
    let pending: Vec<_> = exporters
        .into_iter()
        .map(|exporter| {
            let run = run.clone();
            let describe = exporter.describe();
            let deadline = exporter.deadline();
            let outcome = bounded::run(deadline, move || exporter.export(&run));
            (describe, deadline, outcome)
        })
        .collect();
    let mut report = ExportReport::default();
    for (describe, deadline, outcome) in pending {
        let error = match outcome.wait() {
            Some(Ok(())) => {
                report.sent.push(describe);
                continue;
            }
            Some(Err(e)) => e,
            None => ExportError::Timeout {
                target: describe,
                after: deadline,
            },
        };
        report.warnings.push(format!(
            "telemetry not sent: {error}. The results are on disk; send them again with \
             `inferbench export {}` and the same telemetry options once the receiver is up.",
            run_dir.display()
        ));
    }
    report
}
