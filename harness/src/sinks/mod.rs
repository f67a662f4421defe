//! Everything a run produces, as consumers of one stream of events: the
//! run folder, the progress line, warnings, telemetry, plots, the history,
//! the HTML report and the terminal table each implement [`RunSink`], and
//! [`drive`] runs the cases and hands every sink each result as it comes
//! (ripgrep's `Sink`, with the searcher as the driver).
//!
//! Only the run folder is required: a run whose results cannot be written
//! stops. Any other sink's failure is a warning, because what was measured
//! is already on disk.

mod folder;
mod history;
mod plots;
mod progress;
mod report;
mod table;
mod telemetry;
mod warnings;

pub use history::HistorySink;
pub use plots::ParetoSink;
pub use progress::ProgressSink;
pub use report::ReportSink;
pub use table::TableSink;
pub use telemetry::TelemetrySink;
pub use warnings::WarningsSink;

use crate::results::json::RunDocument;
use crate::results::{CaseResult, Status};
use crate::runner::{RunnerOptions, interrupt, run_case};
use crate::scenario::Case;

/// Why a sink could not take the run.
#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    #[error(transparent)]
    Results(#[from] crate::results::ResultsError),
    #[error(transparent)]
    History(#[from] crate::history::store::HistoryError),
    #[error(transparent)]
    Plot(#[from] crate::plots::PlotError),
    #[error(transparent)]
    Report(#[from] crate::report::ReportError),
}

/// A consumer of a run. Every method has a default that does nothing, so
/// a sink implements only the events it needs.
pub trait RunSink {
    /// What the sink is, for the warning when it fails ("the HTML report").
    fn name(&self) -> &'static str;

    /// A sink that must succeed: its failure stops the run (the run
    /// folder). The others' failures are warnings.
    fn required(&self) -> bool {
        false
    }

    fn case_started(&mut self, _case: &Case) {}

    /// `result` is the last of `run.cases`.
    fn case_finished(&mut self, _result: &CaseResult, _run: &RunDocument) -> Result<(), SinkError> {
        Ok(())
    }

    /// The run is over (finished, or stopped by a signal: `run.interrupted`).
    fn run_finished(&mut self, _run: &RunDocument) -> Result<(), SinkError> {
        Ok(())
    }
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunEnd {
    /// Every case ran.
    Finished,
    /// A signal stopped the run after the case it cut short.
    Interrupted { signal: i32, name: &'static str },
}

/// Runs `cases` in order, recording each result in `run` and handing it to
/// every sink; on SIGINT/SIGTERM the current case is recorded as
/// interrupted and the run stops there. Returns how it ended, or the
/// required sink's error.
pub fn drive(
    cases: &[Case],
    options: &RunnerOptions,
    run: &mut RunDocument,
    sinks: &mut [Box<dyn RunSink>],
) -> Result<RunEnd, SinkError> {
    interrupt::install();
    let mut end = RunEnd::Finished;
    for case in cases {
        sinks.iter_mut().for_each(|s| s.case_started(case));
        let mut result = run_case(case, options);
        if let Some(signal) = interrupt::received() {
            let name = interrupt::name(signal);
            result.status = Status::Interrupted;
            result.message = Some(format!("interrupted by {name} before the case finished"));
            end = RunEnd::Interrupted { signal, name };
        }
        run.cases.push(result);
        let (result, run) = (run.cases.last().expect("just pushed"), &*run);
        for sink in sinks.iter_mut() {
            deliver(sink.as_mut(), |s| s.case_finished(result, run))?;
        }
        if end != RunEnd::Finished {
            break;
        }
    }
    run.finished_at = Some(crate::time::utc_timestamp());
    if let RunEnd::Interrupted { name, .. } = end {
        run.interrupted = Some(name.to_string());
    }
    for sink in sinks.iter_mut() {
        deliver(sink.as_mut(), |s| s.run_finished(run))?;
    }
    Ok(end)
}

/// Calls one sink; a failure of an optional sink becomes a warning.
fn deliver(
    sink: &mut dyn RunSink,
    event: impl FnOnce(&mut dyn RunSink) -> Result<(), SinkError>,
) -> Result<(), SinkError> {
    match event(sink) {
        Err(e) if !sink.required() => {
            eprintln!("warning: {} was not written: {e}", sink.name());
            Ok(())
        }
        outcome => outcome,
    }
}
