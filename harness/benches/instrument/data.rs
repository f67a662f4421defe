//! Latency-like samples for the benches: a floor plus a log-normal body,
//! seeded, so every run benches the same numbers.

use inferbench::model::rng::SplitMix64;

/// `n` latencies in ms around `median` (log-normal, σ = 0.25), seeded.
pub fn latencies(n: usize, median: f64, seed: u64) -> Vec<f64> {
    let mut rng = SplitMix64::new(seed);
    (0..n)
        .map(|_| median * (0.25 * rng.next_normal()).exp())
        .collect()
}
