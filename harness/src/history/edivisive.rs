//! Change points of a series by E-divisive means (Matteson & James 2014,
//! "A Nonparametric Approach for Multiple Change Point Analysis of
//! Multivariate Data", JASA 109:505), the method of MongoDB's performance
//! CI (Daly et al., ICPE 2020) and of Apache Otava (formerly Hunter).
//!
//! For a split of a segment into X = x[..τ] and Y = x[τ..] (sizes m, k),
//! with distance |a − b| (α = 1):
//!   Ê = 2/(mk) Σ|Xi − Yj| − 1/C(m,2) Σ_{i<l}|Xi − Xl| − 1/C(k,2) Σ_{j<l}|Yj − Yl|
//!   Q̂(τ) = mk/(m + k) · Ê
//! The split with the largest Q̂ is a change point when a permutation test
//! says so: p = (1 + #{permutations whose best Q̂ ≥ the observed}) / (1 + R).
//! Segments are then split again on each side (binary segmentation), as in
//! the paper's hierarchical procedure with κ fixed at the segment end.

use crate::model::rng::SplitMix64;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EDivisive {
    /// Significance level of the permutation test.
    pub alpha: f64,
    /// Permutations per test (R).
    pub permutations: usize,
    /// Fewest points on each side of a change (a single outlier run is not
    /// a change of level).
    pub min_size: usize,
    pub seed: u64,
}

impl Default for EDivisive {
    fn default() -> Self {
        Self {
            alpha: 0.05,
            permutations: 199,
            min_size: 3,
            seed: 0,
        }
    }
}

/// A change point: the index of the first point of the new segment.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Split {
    pub index: usize,
    pub q: f64,
    pub p_value: f64,
}

fn pairs(n: usize) -> f64 {
    (n * n.saturating_sub(1) / 2) as f64
}

/// Q̂ of every allowed τ of `x`, as (τ, Q̂), computed incrementally: moving
/// point τ from Y to X changes each sum by its distances to one side.
pub fn q_statistics(x: &[f64], min_size: usize) -> Vec<(usize, f64)> {
    let n = x.len();
    let min_size = min_size.max(1);
    if n < 2 * min_size {
        return Vec::new();
    }
    let d = |i: usize, j: usize| (x[i] - x[j]).abs();
    let first = min_size;
    let (mut s_xx, mut s_yy, mut s_xy) = (0.0, 0.0, 0.0);
    for i in 0..n {
        for j in i + 1..n {
            match (i < first, j < first) {
                (true, true) => s_xx += d(i, j),
                (false, false) => s_yy += d(i, j),
                _ => s_xy += d(i, j),
            }
        }
    }
    let mut out = Vec::new();
    let mut tau = first;
    loop {
        let (m, k) = (tau as f64, (n - tau) as f64);
        let within = |s: f64, size: usize| if size < 2 { 0.0 } else { s / pairs(size) };
        let e = 2.0 / (m * k) * s_xy - within(s_xx, tau) - within(s_yy, n - tau);
        out.push((tau, m * k / (m + k) * e));
        if tau + 1 > n - min_size {
            break;
        }
        let to_x: f64 = (0..tau).map(|i| d(tau, i)).sum();
        let to_y: f64 = (tau + 1..n).map(|j| d(tau, j)).sum();
        s_xx += to_x;
        s_yy -= to_y;
        s_xy += to_y - to_x;
        tau += 1;
    }
    out
}

fn best(x: &[f64], min_size: usize) -> Option<(usize, f64)> {
    q_statistics(x, min_size)
        .into_iter()
        .max_by(|a, b| a.1.total_cmp(&b.1))
}

/// Fisher–Yates shuffle.
fn shuffle(x: &mut [f64], rng: &mut SplitMix64) {
    for i in (1..x.len()).rev() {
        let j = rng.below(i as u64 + 1) as usize;
        x.swap(i, j);
    }
}

fn segment(x: &[f64], offset: usize, cfg: &EDivisive, rng: &mut SplitMix64, out: &mut Vec<Split>) {
    let Some((tau, q)) = best(x, cfg.min_size) else {
        return;
    };
    let mut shuffled = x.to_vec();
    let at_least = (0..cfg.permutations)
        .filter(|_| {
            shuffle(&mut shuffled, rng);
            best(&shuffled, cfg.min_size).is_some_and(|(_, pq)| pq >= q)
        })
        .count();
    let p_value = (1 + at_least) as f64 / (1 + cfg.permutations) as f64;
    if p_value > cfg.alpha {
        return;
    }
    out.push(Split {
        index: offset + tau,
        q,
        p_value,
    });
    segment(&x[..tau], offset, cfg, rng, out);
    segment(&x[tau..], offset + tau, cfg, rng, out);
}

/// Significant change points of `x`, in index order. Deterministic for a
/// given seed.
pub fn change_points(x: &[f64], cfg: &EDivisive) -> Vec<Split> {
    let mut rng = SplitMix64::new(cfg.seed);
    let mut out = Vec::new();
    segment(x, 0, cfg, &mut rng, &mut out);
    out.sort_by_key(|s| s.index);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn q_by_hand() {
        // τ = 3: X = {0,0,0}, Y = {10,10,10}: cross sum 9 × 10 = 90,
        // Ê = 2/9 × 90 − 0 − 0 = 20, Q̂ = 9/6 × 20 = 30.
        // τ = 2: X = {0,0}, Y = {0,10,10,10}: cross 2 × 30 = 60 → 2/8 × 60
        // = 15; within Y: three 10s of C(4,2) = 6 pairs → 5; Ê = 10,
        // Q̂ = 8/6 × 10 = 13.33; τ = 4 mirrors τ = 2.
        let q = q_statistics(&[0.0, 0.0, 0.0, 10.0, 10.0, 10.0], 2);
        assert_eq!(q.len(), 3);
        assert_eq!((q[0].0, q[1].0, q[2].0), (2, 3, 4));
        assert!(close(q[0].1, 40.0 / 3.0), "{q:?}");
        assert!(close(q[1].1, 30.0));
        assert!(close(q[2].1, 40.0 / 3.0));
    }

    #[test]
    fn incremental_sums_match_the_definition() {
        let x = [3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0];
        for (tau, q) in q_statistics(&x, 2) {
            let (a, b) = x.split_at(tau);
            let cross: f64 = a
                .iter()
                .flat_map(|p| b.iter().map(move |r| (p - r).abs()))
                .sum();
            let within = |s: &[f64]| {
                let mut t = 0.0;
                for i in 0..s.len() {
                    for j in i + 1..s.len() {
                        t += (s[i] - s[j]).abs();
                    }
                }
                t / pairs(s.len())
            };
            let (m, k) = (a.len() as f64, b.len() as f64);
            let e = 2.0 / (m * k) * cross - within(a) - within(b);
            assert!(close(q, m * k / (m + k) * e), "τ = {tau}");
        }
    }

    #[test]
    fn finds_a_step_and_nothing_in_a_flat_series() {
        let mut x = vec![10.0, 10.2, 9.9, 10.1, 10.0, 9.8, 10.1, 10.0];
        x.extend([12.0, 12.1, 11.9, 12.2, 12.0, 11.8, 12.1]);
        let cps = change_points(&x, &EDivisive::default());
        assert_eq!(cps.len(), 1, "{cps:?}");
        assert_eq!(cps[0].index, 8);
        assert!(cps[0].p_value <= 0.05);
        assert!(change_points(&[5.0; 20], &EDivisive::default()).is_empty());
        // Too short to split with 3 points a side.
        assert!(change_points(&[1.0, 1.0, 9.0, 9.0], &EDivisive::default()).is_empty());
    }

    #[test]
    fn finds_two_steps() {
        let mut x = vec![1.0; 8];
        x.extend([2.0; 8]);
        x.extend([1.5; 8]);
        let idx: Vec<usize> = change_points(&x, &EDivisive::default())
            .iter()
            .map(|s| s.index)
            .collect();
        assert_eq!(idx, vec![8, 16]);
    }
}
