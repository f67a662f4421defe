//! What of the raw samples goes into a page: histogram counts and a
//! downsampled time series, never the samples themselves, so a page stays
//! small however long the run (the samples stay in results.json).

use crate::stats::percentile_sorted;

/// Most points a plotted series keeps; longer series become buckets.
pub const MAX_SERIES_POINTS: usize = 300;

/// Equal-width bins over `[lo, hi]` and the samples in each; samples above
/// `hi` are counted in `clipped` (the far tail would squash the shape).
#[derive(Debug, Clone, PartialEq)]
pub struct Histogram {
    pub lo: f64,
    pub width: f64,
    pub counts: Vec<usize>,
    pub clipped: usize,
}

impl Histogram {
    /// Bins from the minimum to the 99.5th percentile or Tukey's far-out
    /// fence (q3 + 3 IQR), whichever is lower, √n of them within [8, 50]:
    /// the body of the distribution stays readable under a long tail.
    pub fn of(samples: &[f64]) -> Option<Self> {
        let mut sorted: Vec<f64> = samples.iter().copied().filter(|v| v.is_finite()).collect();
        if sorted.is_empty() {
            return None;
        }
        sorted.sort_by(f64::total_cmp);
        let p = |q| percentile_sorted(&sorted, q);
        let fence = p(0.75) + 3.0 * (p(0.75) - p(0.25));
        let hi = if fence > sorted[0] {
            p(0.995).min(fence)
        } else {
            p(0.995)
        };
        Some(Self::over(&sorted, sorted[0], hi))
    }

    /// Bins over a given range (two distributions on the same bins).
    pub fn over(samples: &[f64], lo: f64, hi: f64) -> Self {
        let bins = ((samples.len() as f64).sqrt().round() as usize).clamp(8, 50);
        let width = if hi > lo {
            (hi - lo) / bins as f64
        } else {
            1.0
        };
        let mut counts = vec![0; bins];
        let (mut clipped, top) = (0, lo + width * bins as f64);
        for &v in samples {
            if v > top {
                clipped += 1;
            } else if v >= lo {
                let i = (((v - lo) / width) as usize).min(bins - 1);
                counts[i] += 1;
            }
        }
        Self {
            lo,
            width,
            counts,
            clipped,
        }
    }

    pub fn hi(&self) -> f64 {
        self.lo + self.width * self.counts.len() as f64
    }

    /// Each bin's range and count.
    pub fn bins(&self) -> impl Iterator<Item = (f64, f64, usize)> + '_ {
        self.counts.iter().enumerate().map(|(i, &c)| {
            let a = self.lo + self.width * i as f64;
            (a, a + self.width, c)
        })
    }
}

/// A per-iteration series reduced for plotting: each point covers
/// `bucket` consecutive iterations with their minimum, median and maximum.
#[derive(Debug, Clone, PartialEq)]
pub struct Reduced {
    pub bucket: usize,
    /// (first iteration index, min, median, max).
    pub points: Vec<(usize, f64, f64, f64)>,
}

/// Downsamples `samples` to at most [`MAX_SERIES_POINTS`] buckets; a short
/// series keeps every iteration (min = median = max).
pub fn reduce_series(samples: &[f64]) -> Reduced {
    let bucket = samples.len().div_ceil(MAX_SERIES_POINTS).max(1);
    let points = samples
        .chunks(bucket)
        .enumerate()
        .map(|(i, chunk)| {
            let mut sorted = chunk.to_vec();
            sorted.sort_by(f64::total_cmp);
            let median = percentile_sorted(&sorted, 0.5);
            (i * bucket, sorted[0], median, sorted[sorted.len() - 1])
        })
        .collect();
    Reduced { bucket, points }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_counts_by_hand() {
        // 0..=9 over [0, 10] in 8 bins of 1.25: bin ⌊v / 1.25⌋.
        let h = Histogram::over(&(0..10).map(f64::from).collect::<Vec<_>>(), 0.0, 10.0);
        assert_eq!(h.counts, vec![2, 1, 1, 1, 2, 1, 1, 1]);
        assert_eq!(h.clipped, 0);
        let tail = Histogram::over(&[1.0, 2.0, 50.0], 0.0, 10.0);
        assert_eq!(tail.clipped, 1);
        assert_eq!(tail.counts.iter().sum::<usize>(), 2);
    }

    #[test]
    fn long_series_become_buckets_with_their_extremes() {
        let samples: Vec<f64> = (0..10_000).map(|i| (i % 7) as f64).collect();
        let r = reduce_series(&samples);
        assert_eq!(r.bucket, 34);
        assert!(r.points.len() <= MAX_SERIES_POINTS);
        assert_eq!((r.points[0].1, r.points[0].3), (0.0, 6.0));
        let short = reduce_series(&[3.0, 1.0]);
        assert_eq!(short.points, vec![(0, 3.0, 3.0, 3.0), (1, 1.0, 1.0, 1.0)]);
    }
}
