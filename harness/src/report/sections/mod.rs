//! The sections of a run's page, one file each.

pub mod cases;
pub mod generation;
pub mod identity;
pub mod precision;
pub mod summary;
pub mod texts;
pub mod warnings;
