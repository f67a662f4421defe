//! Generation workloads: greedy decoding with a KV cache under MLPerf
//! LoadGen-style load patterns, reporting TTFT, TPOT and inter-token
//! latency (definitions in [`timeline`]).

pub mod agreement;
pub mod arrivals;
pub mod decode;
pub mod drive;
pub mod in_process;
pub mod load;
pub mod served;
pub mod slo;
pub mod timeline;

pub use load::{GenerationReference, GenerationSetup, GenerationSummary, Requests, run_generation};
