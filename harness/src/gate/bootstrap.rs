//! Confidence intervals for the change between two samples by the
//! percentile bootstrap (Efron & Tibshirani 1993, ch. 13): resample each
//! side with replacement, recompute the statistic's ratio, and take the
//! (1 ± confidence)/2 quantiles of those ratios.
//!
//! Why the bootstrap and not Hodges–Lehmann with Mann–Whitney U: the gate
//! needs intervals for the median, the 99th percentile and the mean
//! (throughput) alike, as ratios (scale-free, so one threshold in percent
//! fits a 0.1 ms and a 100 ms case). Hodges–Lehmann estimates a location
//! shift only and says nothing about the tail. The bootstrap covers every
//! statistic with one procedure and no assumption about the distribution's
//! shape (latency samples are skewed and often bimodal).
//!
//! A side pooled from several runs is estimated by the median over runs of
//! each run's statistic, and resampled in two stages (Davison & Hinkley
//! 1997, §3.8; Kalibera & Jones 2013, "Rigorous benchmarking in reasonable
//! time"): first runs with replacement, then iterations within each drawn
//! run. Runs differ by more than their iterations suggest (the machine's
//! load changes between them); resampling only iterations would give
//! intervals too narrow for that, and false alarms. A single run is
//! resampled by iterations only.
//!
//! A resample's statistics are drawn without drawing the resample, so a
//! verdict on 50 cases of 10,000 samples takes milliseconds, not the
//! minutes 10⁹ resampled values would (see [`Run::resampled`]): its order
//! statistics exactly in distribution, from the order statistics of
//! uniforms; its mean exactly for small samples, from the mean's
//! Edgeworth-corrected normal limit for large ones.

use crate::model::rng::SplitMix64;

/// The statistics the gate compares; each resample yields all four.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Statistics {
    pub p5: f64,
    pub p50: f64,
    pub p99: f64,
    pub mean: f64,
}

/// Rank position `h = (n − 1) q` of Hyndman & Fan's definition 7, the one
/// `stats::percentile_sorted` uses, as (lower rank, weight of the upper).
fn rank(n: usize, q: f64) -> (usize, f64) {
    let h = (n - 1) as f64 * q;
    (h.floor() as usize, h - h.floor())
}

/// Statistics of a whole sample (no resampling).
pub fn statistics(sample: &[f64]) -> Statistics {
    let mut sorted = sample.to_vec();
    sorted.sort_by(f64::total_cmp);
    let p = |q| crate::stats::percentile_sorted(&sorted, q);
    Statistics {
        p5: p(0.05),
        p50: p(0.5),
        p99: p(0.99),
        mean: crate::stats::mean(&sorted),
    }
}

/// Fewest samples with which an interval of the `q`-quantile can reach
/// `confidence` at all. The widest interval a sample gives, its range
/// [x₍₁₎, x₍ₙ₎], covers the q-quantile with probability 1 − qⁿ − (1 − q)ⁿ
/// (the distribution-free order-statistic interval, David & Nagaraja 2003,
/// §7.1); a percentile-bootstrap interval is never wider than the range, so
/// with fewer samples the stated confidence is not reached and a verdict
/// would be noise (3 samples: the "interval" is just min/max). The median
/// needs 8 samples at 98.75 % (95 % over 4 intervals), p99 needs 437. The
/// mean has no distribution-free interval; it is held to the median's count.
pub fn samples_needed(q: f64, confidence: f64) -> usize {
    let alpha = 1.0 - confidence;
    let miss = |n: i32| q.powi(n) + (1.0 - q).powi(n);
    // Doubling then bisection: miss(n) falls monotonically in n.
    let mut high = 1i32;
    while miss(high) > alpha && high < 1 << 30 {
        high *= 2;
    }
    let mut low = high / 2;
    while low + 1 < high {
        let mid = (low + high) / 2;
        if miss(mid) > alpha {
            low = mid;
        } else {
            high = mid;
        }
    }
    high as usize
}

/// A two-sided interval of a ratio candidate / base.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Interval {
    pub low: f64,
    pub high: f64,
}

/// Percentile-bootstrap intervals of candidate/base for each statistic.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RatioIntervals {
    pub p5: Interval,
    pub p50: Interval,
    pub p99: Interval,
    pub mean: Interval,
}

/// How the bootstrap is run; the seed makes it deterministic, so the same
/// two runs always get the same verdict.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BootstrapSettings {
    pub resamples: usize,
    pub confidence: f64,
    pub seed: u64,
}

/// Samples up to which a resample's mean is drawn exactly (n draws);
/// above, from its limit (see [`Run::resampled_mean`]).
const EXACT_MEAN_SAMPLES: usize = 256;

/// One run's samples, sorted, with the moments the mean's draw needs.
struct Run {
    sorted: Vec<f64>,
    mean: f64,
    /// Standard deviation of a resample's mean: σ/√n, σ the plug-in
    /// (divide-by-n) deviation, the bootstrap distribution's own.
    mean_sd: f64,
    /// Skewness of a resample's mean: γ/√n, γ the sample's skewness.
    mean_skew: f64,
}

impl Run {
    fn new(samples: &[f64]) -> Self {
        let mut sorted = samples.to_vec();
        sorted.sort_by(f64::total_cmp);
        let n = sorted.len() as f64;
        let mean = sorted.iter().sum::<f64>() / n;
        let moment = |k: i32| sorted.iter().map(|x| (x - mean).powi(k)).sum::<f64>() / n;
        let (m2, m3) = (moment(2), moment(3));
        let skew = if m2 > 0.0 { m3 / m2.powf(1.5) } else { 0.0 };
        Self {
            mean_sd: (m2 / n).sqrt(),
            mean_skew: skew / n.sqrt(),
            mean,
            sorted,
        }
    }

    /// The statistics of one resample (n draws with replacement), each
    /// drawn from its exact resampling distribution without the draws:
    /// the k-th smallest of n draws `sorted[⌊n·U⌋]` is `sorted[⌊n·U₍ₖ₎⌋]`,
    /// U₍ₖ₎ the k-th smallest of n uniforms, which is Beta(k, n + 1 − k);
    /// the next one up is U₍ₖ₎ plus the least of the n − k uniforms above
    /// it (David & Nagaraja 2003, §2.2-2.3). Each statistic's interval
    /// only needs its own distribution, so the four are drawn apart.
    fn resampled(&self, rng: &mut SplitMix64) -> Statistics {
        Statistics {
            p5: self.resampled_quantile(0.05, rng),
            p50: self.resampled_quantile(0.5, rng),
            p99: self.resampled_quantile(0.99, rng),
            mean: self.resampled_mean(rng),
        }
    }

    /// Definition 7's quantile of a resample: order statistics lo and
    /// lo + 1 (0-based), interpolated.
    fn resampled_quantile(&self, q: f64, rng: &mut SplitMix64) -> f64 {
        let n = self.sorted.len();
        let (lo, weight) = rank(n, q);
        let at = |u: f64| self.sorted[((u * n as f64) as usize).min(n - 1)];
        let k = lo + 1;
        let u = beta(k as f64, (n + 1 - k) as f64, rng);
        if weight == 0.0 || k >= n {
            return at(u);
        }
        let next = u + (1.0 - u) * (1.0 - rng.next_f64().powf(1.0 / (n - k) as f64));
        at(u) + weight * (at(next) - at(u))
    }

    /// A resample's mean: n draws for small samples; above
    /// [`EXACT_MEAN_SAMPLES`], its normal limit N(x̄, σ²/n) with the
    /// one-term Cornish-Fisher correction for its skewness γ/√n (Hall 1992,
    /// "The Bootstrap and Edgeworth Expansion", §2.5), so a skewed latency
    /// sample keeps its longer upper tail.
    fn resampled_mean(&self, rng: &mut SplitMix64) -> f64 {
        let n = self.sorted.len();
        if n <= EXACT_MEAN_SAMPLES {
            let sum: f64 = (0..n)
                .map(|_| self.sorted[rng.below(n as u64) as usize])
                .sum();
            return sum / n as f64;
        }
        let z = rng.next_normal();
        self.mean + self.mean_sd * (z + self.mean_skew * (z * z - 1.0) / 6.0)
    }
}

/// Gamma(shape ≥ 1, 1) by Marsaglia & Tsang (2000), "A Simple Method for
/// Generating Gamma Variables", ACM TOMS 26:363.
fn gamma(shape: f64, rng: &mut SplitMix64) -> f64 {
    let d = shape - 1.0 / 3.0;
    let c = 1.0 / (9.0 * d).sqrt();
    loop {
        let x = rng.next_normal();
        let v = (1.0 + c * x).powi(3);
        if v <= 0.0 {
            continue;
        }
        let u = rng.next_f64();
        if u < 1.0 - 0.0331 * x.powi(4) || u.ln() < 0.5 * x * x + d * (1.0 - v + v.ln()) {
            return d * v;
        }
    }
}

/// Beta(a, b), a, b ≥ 1, as X / (X + Y) of two gammas.
fn beta(a: f64, b: f64, rng: &mut SplitMix64) -> f64 {
    let x = gamma(a, rng);
    x / (x + gamma(b, rng))
}

/// Combines the runs of a side: the median over runs of p50, p99 and the
/// mean, so a run on a throttled or shared core (whole runs at 2× the time
/// happen on a loaded virtual machine) moves them by one rank, not by its
/// weight in a pooled sample; and the lowest p5 of any run, the floor: noise
/// only adds time, so the fastest run is the one least disturbed (the
/// minimum estimator of Chen & Revels 2016, taken over runs).
fn combine_runs(per_run: &[Statistics]) -> Statistics {
    let median = |f: fn(&Statistics) -> f64| {
        let mut v: Vec<f64> = per_run.iter().map(f).collect();
        quantile(&mut v, 0.5)
    };
    Statistics {
        p5: per_run.iter().map(|s| s.p5).fold(f64::INFINITY, f64::min),
        p50: median(|s| s.p50),
        p99: median(|s| s.p99),
        mean: median(|s| s.mean),
    }
}

/// The statistics of a side given as its runs' samples: those of the one
/// run, or with several runs as [`combine_runs`] puts them together.
pub fn side_statistics(runs: &[Vec<f64>]) -> Statistics {
    let per_run: Vec<Statistics> = runs
        .iter()
        .filter(|r| !r.is_empty())
        .map(|r| statistics(r))
        .collect();
    combine_runs(&per_run)
}

/// A side's runs, resampled in two stages: runs with replacement, then
/// iterations within each drawn run; the resample's statistic is computed
/// as [`side_statistics`] computes the estimate.
struct Resampler {
    runs: Vec<Run>,
    drawn: Vec<Statistics>,
}

impl Resampler {
    fn new(runs: &[Vec<f64>]) -> Self {
        Self {
            runs: runs
                .iter()
                .filter(|r| !r.is_empty())
                .map(|r| Run::new(r))
                .collect(),
            drawn: Vec::new(),
        }
    }

    fn draw(&mut self, rng: &mut SplitMix64) -> Statistics {
        let k = self.runs.len();
        if k == 1 {
            return self.runs[0].resampled(rng);
        }
        self.drawn.clear();
        for _ in 0..k {
            let run = rng.below(k as u64) as usize;
            let stats = self.runs[run].resampled(rng);
            self.drawn.push(stats);
        }
        combine_runs(&self.drawn)
    }
}

/// The `q` quantile of `values` (sorted in place), definition 7.
fn quantile(values: &mut [f64], q: f64) -> f64 {
    values.sort_by(f64::total_cmp);
    crate::stats::percentile_sorted(values, q)
}

/// Intervals of candidate/base ratios of the median, p99 and mean, each
/// side given as its runs' samples. `None` when either side is empty.
pub fn ratio_intervals(
    base: &[Vec<f64>],
    candidate: &[Vec<f64>],
    settings: BootstrapSettings,
) -> Option<RatioIntervals> {
    let empty = |runs: &[Vec<f64>]| runs.iter().all(Vec::is_empty);
    if empty(base) || empty(candidate) || settings.resamples == 0 {
        return None;
    }
    let (mut base, mut candidate) = (Resampler::new(base), Resampler::new(candidate));
    let mut rng = SplitMix64::new(settings.seed);
    let mut ratios = [(); 4].map(|_| Vec::with_capacity(settings.resamples));
    for _ in 0..settings.resamples {
        let b = base.draw(&mut rng);
        let c = candidate.draw(&mut rng);
        ratios[0].push(c.p50 / b.p50);
        ratios[1].push(c.p99 / b.p99);
        ratios[2].push(c.mean / b.mean);
        ratios[3].push(c.p5 / b.p5);
    }
    let tail = (1.0 - settings.confidence) / 2.0;
    let interval = |values: &mut Vec<f64>| Interval {
        low: quantile(values, tail),
        high: quantile(values, 1.0 - tail),
    };
    let [p50, p99, mean, p5] = &mut ratios;
    Some(RatioIntervals {
        p5: interval(p5),
        p50: interval(p50),
        p99: interval(p99),
        mean: interval(mean),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SETTINGS: BootstrapSettings = BootstrapSettings {
        resamples: 2000,
        confidence: 0.95,
        seed: 7,
    };

    #[test]
    fn sample_requirements_by_hand() {
        // Median at 98.75 %: 2 · 0.5ⁿ ≤ 0.0125 ⇔ 0.5ⁿ ≤ 0.00625 ⇔ n ≥ 7.32.
        assert_eq!(samples_needed(0.5, 0.9875), 8);
        // p99: 0.99ⁿ + 0.01ⁿ ≤ 0.0125 ⇔ n ≥ ln 0.0125 / ln 0.99 = 436.01.
        assert_eq!(samples_needed(0.99, 0.9875), 437);
        // p5: 0.95ⁿ ≤ 0.0125 ⇔ n ≥ 85.4.
        assert_eq!(samples_needed(0.05, 0.9875), 86);
        // Two samples reach 50 % for the median: 1 − 2 · 0.25 = 0.5.
        assert_eq!(samples_needed(0.5, 0.5), 2);
    }

    #[test]
    fn statistics_match_the_summary_definitions() {
        // Sorted 1..=5: median 3; p99 at h = 3.96 → 4 + 0.96 × 1 = 4.96;
        // p5 at h = 0.2 → 1 + 0.2 × 1 = 1.2.
        let s = statistics(&[5.0, 1.0, 4.0, 2.0, 3.0]);
        assert!((s.p5 - 1.2).abs() < 1e-12);
        assert_eq!(s.p50, 3.0);
        assert!((s.p99 - 4.96).abs() < 1e-12);
        assert_eq!(s.mean, 3.0);
        // Repeated values: {1, 1, 2, 9} → median 1.5; p99 at h = 2.97 →
        // 2 + 0.97 × 7 = 8.79.
        let s = statistics(&[9.0, 1.0, 2.0, 1.0]);
        assert_eq!((s.p50, s.mean), (1.5, 13.0 / 4.0));
        assert!((s.p99 - 8.79).abs() < 1e-12);
    }

    #[test]
    fn identical_constant_samples_give_a_point_interval() {
        let r = ratio_intervals(&[vec![2.0; 50]], &[vec![2.0; 80]], SETTINGS).unwrap();
        for i in [r.p5, r.p50, r.p99, r.mean] {
            assert_eq!((i.low, i.high), (1.0, 1.0));
        }
    }

    #[test]
    fn a_scaled_copy_is_found_at_its_scale() {
        // The candidate is the base × 1.1: every resampled ratio of a
        // statistic that scales (all three do) straddles 1.1.
        let base: Vec<f64> = (1..=200).map(|i| 100.0 + (i % 17) as f64).collect();
        let cand: Vec<f64> = base.iter().map(|x| x * 1.1).collect();
        let r = ratio_intervals(&[base], &[cand], SETTINGS).unwrap();
        for i in [r.p50, r.mean] {
            assert!(i.low < 1.1 && 1.1 < i.high, "{i:?}");
            assert!(
                i.low > 1.0,
                "a 10% shift of 200 samples is significant: {i:?}"
            );
        }
    }

    #[test]
    fn the_same_seed_gives_the_same_interval() {
        let a: Vec<f64> = (0..100).map(|i| (i * 7 % 13) as f64 + 1.0).collect();
        let b: Vec<f64> = (0..100).map(|i| (i * 5 % 11) as f64 + 1.0).collect();
        let (a, b) = (vec![a], vec![b]);
        assert_eq!(
            ratio_intervals(&a, &b, SETTINGS),
            ratio_intervals(&a, &b, SETTINGS)
        );
        assert!(ratio_intervals(&[vec![]], &b, SETTINGS).is_none());
    }

    #[test]
    fn one_slow_run_moves_the_side_by_one_rank() {
        // Per-run medians 10, 11, 20 (a run at 2× on a throttled core):
        // the side's median is 11, not the pooled sample's; its floor is
        // the fastest run's p5.
        let runs = vec![vec![10.0; 5], vec![11.0; 5], vec![20.0; 5]];
        let s = side_statistics(&runs);
        assert_eq!((s.p50, s.mean, s.p5), (11.0, 11.0, 10.0));
        assert_eq!(statistics(&runs.concat()).p50, 11.0);
        assert!((statistics(&runs.concat()).mean - 41.0 / 3.0).abs() < 1e-12);
    }

    #[test]
    fn runs_that_disagree_widen_the_interval() {
        // Two base runs at 100 and 110 (a machine that slowed down between
        // them), against a candidate run at 105 and one at 100. Resampling
        // only iterations treats 200 samples per side as one population and
        // calls a difference significant; resampling runs first does not.
        let run =
            |level: f64| -> Vec<f64> { (0..100).map(|i| level + (i % 5) as f64 * 0.1).collect() };
        let base = vec![run(100.0), run(110.0)];
        let cand = vec![run(105.0), run(100.0)];
        let pooled = |runs: &[Vec<f64>]| vec![runs.concat()];
        let naive = ratio_intervals(&pooled(&base), &pooled(&cand), SETTINGS).unwrap();
        let two_stage = ratio_intervals(&base, &cand, SETTINGS).unwrap();
        let width = |i: Interval| i.high - i.low;
        assert!(
            width(two_stage.mean) > 3.0 * width(naive.mean),
            "{naive:?} {two_stage:?}"
        );
        assert!(
            naive.mean.high < 1.0,
            "iterations only: significant {naive:?}"
        );
        assert!(
            two_stage.mean.low < 1.0 && two_stage.mean.high > 1.0,
            "{two_stage:?}"
        );
    }

    /// `draws` statistics of resamples drawn the slow, obvious way: n
    /// indices with replacement, sorted, [`statistics`] of them.
    fn brute_force(sample: &[f64], draws: usize, seed: u64) -> Vec<Statistics> {
        let mut rng = SplitMix64::new(seed);
        let n = sample.len() as u64;
        (0..draws)
            .map(|_| {
                let resample: Vec<f64> = (0..n).map(|_| sample[rng.below(n) as usize]).collect();
                statistics(&resample)
            })
            .collect()
    }

    type Statistic = fn(&Statistics) -> f64;

    /// Mean and standard deviation of one statistic over draws.
    fn moments(draws: &[Statistics], f: Statistic) -> (f64, f64) {
        let v: Vec<f64> = draws.iter().map(f).collect();
        (crate::stats::mean(&v), crate::stats::stddev(&v))
    }

    /// Each statistic drawn without the resample has the distribution of
    /// the statistic of a drawn resample: over 4,000 draws each way, the
    /// means agree within 4 standard errors and the spreads within 10 %.
    /// Skewed samples (a log-normal body), small enough for the exact mean
    /// and large enough for its Edgeworth-corrected limit.
    #[test]
    fn drawn_statistics_follow_the_resampling_distribution() {
        for n in [40, 600] {
            let mut rng = SplitMix64::new(n as u64);
            let sample: Vec<f64> = (0..n).map(|_| (0.5 * rng.next_normal()).exp()).collect();
            let run = Run::new(&sample);
            let mut rng = SplitMix64::new(9);
            let fast: Vec<Statistics> = (0..4000).map(|_| run.resampled(&mut rng)).collect();
            let slow = brute_force(&sample, 4000, 11);
            let metrics: [(&str, Statistic); 4] = [
                ("p5", |s| s.p5),
                ("p50", |s| s.p50),
                ("p99", |s| s.p99),
                ("mean", |s| s.mean),
            ];
            for (name, f) in metrics {
                let ((m1, s1), (m2, s2)) = (moments(&fast, f), moments(&slow, f));
                let standard_error = ((s1 * s1 + s2 * s2) / 4000.0).sqrt();
                assert!(
                    (m1 - m2).abs() <= 4.0 * standard_error && (s1 / s2 - 1.0).abs() < 0.1,
                    "n {n} {name}: drawn {m1} ± {s1}, brute force {m2} ± {s2}"
                );
            }
        }
    }
}
