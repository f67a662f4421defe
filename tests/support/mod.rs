//! Helpers shared by the integration tests.

pub mod receivers;
pub mod rotel_output;
