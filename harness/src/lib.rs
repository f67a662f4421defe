//! inferbench: runs declarative scenarios against interchangeable inference
//! backends and records latency, throughput, memory and accuracy deltas.

pub mod accuracy;
pub mod exit_status;
pub mod export;
pub mod gate;
pub mod generation;
pub mod history;
pub mod model;
pub mod monitor;
pub mod peak;
pub mod plots;
pub mod reference_docs;
pub mod registry;
pub mod report;
pub mod results;
pub mod runner;
pub mod scenario;
pub mod shard;
pub mod sinks;
pub mod stats;
pub mod text_table;
pub mod time;
pub mod warnings;
