//! What a run's outcome means, in one place: the status of each case and
//! the exit code of each command. The code returns these and the book's
//! reference page is generated from them; later issues add rows.

use std::process::ExitCode;

use crate::results::Status;

/// Every case measured or skipped; no regression.
pub const SUCCESS: u8 = 0;
/// A case errored or failed its limits, or the gate found a regression.
pub const FAILURE: u8 = 1;
/// Bad input before anything ran: scenario, flag, file, baseline name.
pub const USAGE: u8 = 2;
/// `compare --fail-on-inconclusive`: no case could be judged.
pub const INCONCLUSIVE: u8 = 3;
/// Stopped by a signal: 128 + its number (130 for SIGINT, 143 for SIGTERM),
/// after the cases already measured were saved.
pub const SIGNALLED: u8 = 128;

/// Exit codes with their meaning, for the docs.
pub const EXIT_CODES: &[(u8, &str)] = &[
    (
        SUCCESS,
        "every case was measured or skipped; `compare` and `run --baseline`: no regression",
    ),
    (
        FAILURE,
        "a case errored or broke its accuracy limits; `compare` and `run --baseline`: at least one case regressed",
    ),
    (
        USAGE,
        "invalid scenario or usage: `file:line:col` errors, unknown run or baseline, bad threshold, unreadable file",
    ),
    (
        INCONCLUSIVE,
        "`compare --fail-on-inconclusive`: no case could be judged (environment mismatch, too few samples)",
    ),
    (
        SIGNALLED,
        "128 + the signal's number (130 SIGINT, 143 SIGTERM): the run was stopped; the cases measured before it are saved",
    ),
];

pub fn exit(code: u8) -> ExitCode {
    ExitCode::from(code)
}

/// [`FAILURE`] when a case errored or failed, saying how many; `run` and
/// `merge` end with it.
pub fn failing_cases(cases: &[crate::results::CaseResult]) -> Option<ExitCode> {
    let bad = cases.iter().filter(|r| r.status.fails_the_run()).count();
    (bad > 0).then(|| {
        eprintln!("error: {bad} case(s) errored or failed their accuracy limits");
        exit(FAILURE)
    })
}

impl Status {
    pub const ALL: [Status; 6] = [
        Status::Measured,
        Status::Skipped,
        Status::Error,
        Status::Failed,
        Status::Interrupted,
        Status::Missing,
    ];

    /// What the status means, for the docs.
    pub fn meaning(&self) -> &'static str {
        match self {
            Status::Measured => "measured, and within its accuracy limits",
            Status::Skipped => {
                "not run: the backend is not compiled in, its runtime is missing, or it does not run this (device, precision, model); the message says why and how to get it"
            }
            Status::Error => "the backend failed: load, run, crash or timeout",
            Status::Failed => "measured, but outside its accuracy limits or its p99 TTFT target",
            Status::Interrupted => {
                "stopped by SIGINT or SIGTERM before it finished; the run stopped there"
            }
            Status::Missing => {
                "in a merged run (`merge --allow-partial`): the shard that was to run it did not report it"
            }
        }
    }

    /// Whether the status makes `run` exit with [`FAILURE`].
    pub fn fails_the_run(&self) -> bool {
        matches!(self, Status::Error | Status::Failed)
    }
}
