//! Poisson arrivals for the `server` pattern: exponential gaps with mean
//! 1/rate, drawn from a seed so a run can be repeated exactly (as MLPerf
//! LoadGen seeds its schedule).

use crate::model::rng::SplitMix64;

/// Arrival times in nanoseconds of `n` requests at `rate` per second.
pub fn poisson_arrivals_ns(n: usize, rate: f64, seed: u64) -> Vec<u64> {
    let mut rng = SplitMix64::new(seed ^ 0xA771_7A15);
    let mut t = 0.0f64;
    (0..n)
        .map(|_| {
            // Inverse CDF of Exp(rate): −ln(U)/rate with U in (0, 1].
            t += -(1.0 - rng.next_f64()).ln() / rate;
            (t * 1e9) as u64
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reproducible_for_a_seed() {
        assert_eq!(
            poisson_arrivals_ns(50, 10.0, 7),
            poisson_arrivals_ns(50, 10.0, 7)
        );
        assert_ne!(
            poisson_arrivals_ns(50, 10.0, 7),
            poisson_arrivals_ns(50, 10.0, 8)
        );
    }

    #[test]
    fn mean_rate_is_right() {
        // 20000 gaps of mean 1/rate: the standard error of the mean gap is
        // 1/(rate·√n) ≈ 0.7%, so 3% is a > 4σ bound.
        let n = 20_000;
        let a = poisson_arrivals_ns(n, 25.0, 1);
        let rate = n as f64 / (*a.last().unwrap() as f64 * 1e-9);
        assert!((rate / 25.0 - 1.0).abs() < 0.03, "rate {rate}");
        assert!(a.windows(2).all(|w| w[0] <= w[1]));
    }
}
