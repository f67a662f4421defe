//! `inferbench monitor`: a scenario's generation cases as a steady,
//! low-rate probe of a live model, as Prometheus's blackbox exporter probes
//! a site, for served endpoints and in-process models alike.
//!
//! ```text
//! scenario ──cases──▶ warm generator per case (runner::warm) ──▶ prober (schedule, jitter)
//!     probe ──▶ ProbeSink for each output: /metrics exposition, OTLP push (+ span)
//! ```
//!
//! It runs until SIGINT, SIGTERM or `--duration`, then lets the probes in
//! flight finish (at most 0.5 s; a generator still busy is not waited for),
//! flushes the OTLP push (at most 1 s) and exits 0.

pub mod command;
pub mod instruments;
pub mod judge;
mod listener;
pub mod metrics;
pub mod probe;
mod prober;
mod push;
pub mod schedule;
pub mod sink;

pub use command::{MonitorArgs, run_monitor};
