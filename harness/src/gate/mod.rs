//! The regression gate: comparing runs and baselines with confidence
//! intervals, saved baselines, and the reports (terminal, Markdown, JUnit,
//! JSON). The run history (`crate::history`) and the plots
//! (`crate::plots`) are outputs of every run; the gate reads them.

pub mod baseline;
pub mod bootstrap;
pub mod command;
pub mod comparison;
pub mod metric;
pub mod record;
pub mod report;
pub mod settings;
pub mod side;
pub mod validity;
pub mod verdict;
