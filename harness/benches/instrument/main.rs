//! criterion benches of the harness itself: what it adds to each measured
//! iteration, and what its statistics, gate, change-point search, scenario
//! expansion and result writers cost at the sizes real runs reach. Each
//! has a budget in the book's "Harness overhead" page.
//!
//!     cargo bench --bench instrument            # all, about 2 minutes
//!     cargo bench --bench instrument -- gate    # one group

mod data;
mod gate;
mod history;
mod measured_loop;
mod results;
mod scenario;
mod stats;

use criterion::{criterion_group, criterion_main};

criterion_group!(
    benches,
    measured_loop::bench,
    stats::bench,
    gate::bench,
    history::bench,
    scenario::bench,
    results::bench
);
criterion_main!(benches);
