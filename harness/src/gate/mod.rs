//! The regression gate: comparing runs and baselines with confidence
//! intervals, saved baselines, the run history with its change points, the
//! reports (terminal, Markdown, JUnit, JSON) and plots.

pub mod baseline;
pub mod bootstrap;
pub mod command;
pub mod comparison;
pub mod history;
pub mod metric;
pub mod plots;
pub mod record;
pub mod report;
pub mod settings;
pub mod side;
pub mod validity;
pub mod verdict;
