//! Arrivals for the `server` pattern, drawn from a seed so a run can be
//! repeated exactly (as MLPerf LoadGen seeds its schedule): Poisson
//! (exponential gaps with mean 1/rate), or gamma gaps with a burstiness
//! factor as vLLM's `bench serve` defines it.

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

/// Arrival times of `n` requests at mean `rate` per second with gamma
/// distributed gaps of shape `burstiness` and scale 1/(rate·burstiness), as
/// vLLM's `--burstiness`: 1 is Poisson, below 1 burstier, above 1 more
/// regular. The mean gap stays 1/rate whatever the burstiness.
pub fn gamma_arrivals_ns(n: usize, rate: f64, burstiness: f64, seed: u64) -> Vec<u64> {
    if burstiness == 1.0 {
        return poisson_arrivals_ns(n, rate, seed);
    }
    let mut rng = SplitMix64::new(seed ^ 0xB0_57E5);
    let scale = 1.0 / (rate * burstiness);
    let mut t = 0.0f64;
    (0..n)
        .map(|_| {
            t += gamma(&mut rng, burstiness) * scale;
            (t * 1e9) as u64
        })
        .collect()
}

/// One draw of Gamma(shape, 1): Marsaglia and Tsang, "A simple method for
/// generating gamma variables" (2000), with their boost U^(1/shape) for
/// shape < 1.
fn gamma(rng: &mut SplitMix64, shape: f64) -> f64 {
    if shape < 1.0 {
        let u = 1.0 - rng.next_f64();
        return gamma(rng, shape + 1.0) * u.powf(1.0 / shape);
    }
    let d = shape - 1.0 / 3.0;
    let c = 1.0 / (9.0 * d).sqrt();
    loop {
        let x = standard_normal(rng);
        let v = (1.0 + c * x).powi(3);
        if v <= 0.0 {
            continue;
        }
        let u = 1.0 - rng.next_f64();
        if u.ln() < 0.5 * x * x + d - d * v + d * v.ln() {
            return d * v;
        }
    }
}

/// Box–Muller.
fn standard_normal(rng: &mut SplitMix64) -> f64 {
    let u1 = 1.0 - rng.next_f64();
    let u2 = rng.next_f64();
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
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

    #[test]
    fn gamma_gaps_keep_the_rate_and_set_the_spread() {
        // Gamma(k, 1/(rate·k)) gaps: mean 1/rate, coefficient of variation
        // 1/√k. With 20000 gaps both estimates are within a few percent.
        for k in [0.25, 4.0] {
            let n = 20_000;
            let a = gamma_arrivals_ns(n, 50.0, k, 3);
            let gaps: Vec<f64> = std::iter::once(a[0])
                .chain(a.windows(2).map(|w| w[1] - w[0]))
                .map(|g| g as f64 * 1e-9)
                .collect();
            let mean = gaps.iter().sum::<f64>() / n as f64;
            let var = gaps.iter().map(|g| (g - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
            assert!((mean * 50.0 - 1.0).abs() < 0.05, "k {k}: mean gap {mean}");
            let cv = var.sqrt() / mean;
            assert!((cv * k.sqrt() - 1.0).abs() < 0.06, "k {k}: cv {cv}");
        }
        assert_eq!(
            gamma_arrivals_ns(9, 5.0, 1.0, 2),
            poisson_arrivals_ns(9, 5.0, 2)
        );
    }
}
