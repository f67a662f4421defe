//! Results of a run: one [`CaseResult`] per case, written to the run folder
//! as each case ends (CSV and JSON), plus the environment it ran in.

mod case_result;
pub mod csv;
pub mod environment;
#[cfg(test)]
pub(crate) mod fixture;
pub mod float;
pub mod json;
mod run_folder;
pub mod table;

pub use case_result::{CaseResult, Status};
pub use run_folder::{ResultsError, RunFolder};
