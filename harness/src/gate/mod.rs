//! The regression gate: comparing runs and baselines with confidence
//! intervals, saved baselines, the run history with its change points, the
//! reports (terminal, Markdown, JUnit, JSON) and plots.

pub mod baseline;
pub mod bootstrap;
pub mod comparison;
pub mod metric;
pub mod record;
pub mod settings;
pub mod side;
pub mod verdict;
pub mod report;
pub mod command;
pub mod history;
pub mod plots;
