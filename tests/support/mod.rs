//! Helpers shared by the integration tests.

pub mod chromium;
pub mod receivers;
pub mod rotel_output;
