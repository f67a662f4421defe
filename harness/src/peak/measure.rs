//! Timing a backend's own matrix product: one warm-up product (first-call
//! allocations, a runtime pre-packing its weights, the thread pool
//! starting), then products until the settings' seconds and iterations
//! are met; the rate is `2·n³` FLOPs over the median product time, so a
//! product slowed by other work on a shared machine does not count.

use std::time::Instant;

use inferbench_backend::{Backend, BackendError, Matmul, MatmulSpec, Precision};

use super::{PeakOutcome, PeakSettings, SizeRate};
use crate::stats::Summary;

/// The rate of one prepared product, GFLOP/s, and how many were timed.
pub fn time_product(
    product: &mut dyn Matmul,
    flops: u64,
    settings: &PeakSettings,
) -> Result<(f64, usize), BackendError> {
    product.run()?;
    let mut times_ms = Vec::new();
    let start = Instant::now();
    while times_ms.len() < settings.min_iterations.max(1)
        || start.elapsed().as_secs_f64() < settings.seconds
    {
        let one = Instant::now();
        product.run()?;
        times_ms.push(one.elapsed().as_secs_f64() * 1e3);
    }
    let median_ms = Summary::of(&times_ms).map_or(f64::INFINITY, |s| s.p50);
    Ok((flops as f64 / (median_ms * 1e-3) * 1e-9, times_ms.len()))
}

/// Whether one product of `flops` would take longer than the whole
/// `seconds` budget at the best rate reached so far. Such a size would
/// still take its minimum iterations (libtorch's f16 on a CPU without f16
/// arithmetic: minutes at 2048), so it is skipped. Nothing is skipped
/// before a rate is known.
fn too_slow_to_time(flops: u64, so_far: &[SizeRate], seconds: f64) -> bool {
    let best = so_far.iter().map(|r| r.gflop_per_s).fold(0.0, f64::max);
    best > 0.0 && flops as f64 * 1e-9 / best > seconds.max(0.1)
}

/// `backend`'s peak at `precision` on `threads`: the best rate over the
/// settings' sizes, or why there is none.
pub fn measure(
    backend: &dyn Backend,
    precision: Precision,
    threads: usize,
    settings: &PeakSettings,
) -> PeakOutcome {
    let mut by_size: Vec<SizeRate> = Vec::new();
    for &size in &settings.sizes {
        let spec = MatmulSpec::square(size, precision, threads);
        if too_slow_to_time(spec.flops(), &by_size, settings.seconds) {
            continue;
        }
        let timed = backend
            .matmul(&spec)
            .and_then(|mut product| time_product(product.as_mut(), spec.flops(), settings));
        match timed {
            Ok((gflop_per_s, iterations)) => by_size.push(SizeRate {
                size,
                gflop_per_s,
                iterations,
            }),
            Err(e) => {
                return PeakOutcome::NotMeasured {
                    reason: e.to_string(),
                };
            }
        }
    }
    let Some(best) = by_size
        .iter()
        .copied()
        .max_by(|a, b| a.gflop_per_s.total_cmp(&b.gflop_per_s))
    else {
        return PeakOutcome::NotMeasured {
            reason: "no sizes to measure".into(),
        };
    };
    PeakOutcome::Measured {
        gflop_per_s: best.gflop_per_s,
        size: best.size,
        by_size,
        measured_at: crate::time::utc_timestamp(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A product that takes a known time.
    struct Sleepy(std::time::Duration, usize);

    impl Matmul for Sleepy {
        fn run(&mut self) -> Result<(), BackendError> {
            std::thread::sleep(self.0);
            self.1 += 1;
            Ok(())
        }
        fn output(&mut self) -> Result<Vec<f32>, BackendError> {
            Ok(Vec::new())
        }
    }

    #[test]
    fn the_rate_is_flops_over_the_median_time_after_a_warm_up() {
        let settings = PeakSettings {
            sizes: vec![],
            seconds: 0.0,
            min_iterations: 4,
        };
        let mut product = Sleepy(std::time::Duration::from_millis(10), 0);
        let (rate, iterations) = time_product(&mut product, 1_000_000_000, &settings).unwrap();
        assert_eq!((iterations, product.1), (4, 5));
        // 1 GFLOP in a bit over 10 ms: a bit under 100 GFLOP/s.
        assert!((50.0..100.0).contains(&rate), "{rate}");
    }

    #[test]
    fn a_size_slower_than_the_budget_at_the_rate_so_far_is_skipped() {
        let at = |gflop_per_s| SizeRate {
            size: 512,
            gflop_per_s,
            iterations: 3,
        };
        let n2048 = MatmulSpec::square(2048, Precision::F16, 1).flops();
        // 17.2 GFLOP at libtorch's CPU f16 rate (1.3 GFLOP/s): 13 s a
        // product, over a 3 s budget.
        assert!(too_slow_to_time(n2048, &[at(1.3)], 3.0));
        // At an f32 rate it takes 0.2 s: timed.
        assert!(!too_slow_to_time(n2048, &[at(80.0)], 3.0));
        // The best size so far counts, not the last one.
        assert!(!too_slow_to_time(n2048, &[at(80.0), at(1.3)], 3.0));
        // Before any rate is known, every size is timed.
        assert!(!too_slow_to_time(n2048, &[], 3.0));
        // A zero budget still allows 0.1 s a product.
        assert!(too_slow_to_time(n2048, &[at(80.0)], 0.0));
        assert!(!too_slow_to_time(1_000_000, &[at(80.0)], 0.0));
    }

    #[test]
    fn a_backend_without_a_matmul_is_not_measured_with_its_reason() {
        let settings = PeakSettings::default();
        let outcome = measure(
            &inferbench_backend::NullBackend,
            Precision::F32,
            1,
            &settings,
        );
        let PeakOutcome::NotMeasured { reason } = outcome else {
            panic!("{outcome:?}");
        };
        assert!(reason.contains("no arithmetic"), "{reason}");
    }
}
