//! Service-level objectives of generation workloads, goodput, and the
//! search for the highest arrival rate that meets them.
//!
//! Goodput is as vLLM's `bench serve` defines it: completed requests that
//! meet every given SLO (TTFT, TPOT, end-to-end, each ≤ its limit; a
//! one-token request has TPOT 0), divided by the run's duration.

use serde::{Deserialize, Serialize};

use super::timeline::RequestTimeline;
use crate::stats::Summary;

/// Limits in milliseconds; `None` is not checked.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Slo {
    pub ttft_ms: Option<f64>,
    pub tpot_ms: Option<f64>,
    pub e2e_ms: Option<f64>,
}

impl Slo {
    pub fn is_set(&self) -> bool {
        self.ttft_ms.is_some() || self.tpot_ms.is_some() || self.e2e_ms.is_some()
    }

    /// Whether one completed request meets every given limit.
    pub fn request_meets(&self, t: &RequestTimeline) -> bool {
        let within = |limit: Option<f64>, ns: Option<f64>| match (limit, ns) {
            (None, _) => true,
            (Some(limit), Some(ns)) => ns * 1e-6 <= limit,
            (Some(_), None) => false,
        };
        within(self.ttft_ms, t.ttft_ns().map(|x| x as f64))
            && within(self.tpot_ms, Some(t.tpot_ns().unwrap_or(0.0)))
            && within(self.e2e_ms, t.e2e_ns().map(|x| x as f64))
    }

    /// Requests per second meeting every limit, over `wall_s`.
    pub fn goodput(&self, timelines: &[RequestTimeline], wall_s: f64) -> f64 {
        let good = timelines.iter().filter(|t| self.request_meets(t)).count();
        good as f64 / wall_s
    }

    /// One sentence per limit the p99 breaches (a missing figure breaches).
    pub fn p99_breaches(
        &self,
        ttft: Option<Summary>,
        tpot: Option<Summary>,
        e2e: Option<Summary>,
    ) -> Vec<String> {
        let mut out = Vec::new();
        for (name, limit, figure) in [
            ("TTFT", self.ttft_ms, ttft),
            ("TPOT", self.tpot_ms, tpot),
            ("e2e", self.e2e_ms, e2e),
        ] {
            if let Some(limit) = limit {
                match figure {
                    Some(s) if s.p99 <= limit => {}
                    Some(s) => out.push(format!("p99 {name} {:.2} ms > {limit} ms", s.p99)),
                    None => out.push(format!("no {name} measured against {limit} ms")),
                }
            }
        }
        out
    }
}

/// The highest rate for which `meets(rate)` holds. Starts from `start`
/// (e.g. the single-stream capacity estimate), doubles the ceiling while it
/// still passes (4 times at most), then bisects the interval 5 times.
/// Returns 0 when even the lowest rate tried fails.
pub fn search_highest_rate<E>(
    start: f64,
    mut meets: impl FnMut(f64) -> Result<bool, E>,
) -> Result<f64, E> {
    let (mut lo, mut hi) = (0.0, start);
    for _ in 0..4 {
        if !meets(hi)? {
            break;
        }
        lo = hi;
        hi *= 2.0;
    }
    for _ in 0..5 {
        if lo == hi {
            break;
        }
        let mid = (lo + hi) / 2.0;
        if meets(mid)? { lo = mid } else { hi = mid }
    }
    Ok(lo)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn timeline(ttft_ms: u64, gap_ms: u64, tokens: u64) -> RequestTimeline {
        let ms = 1_000_000;
        RequestTimeline::per_token(
            0,
            0,
            (0..tokens).map(|i| (ttft_ms + i * gap_ms) * ms).collect(),
        )
    }

    #[test]
    fn goodput_counts_requests_meeting_every_limit() {
        let slo = Slo {
            ttft_ms: Some(100.0),
            tpot_ms: Some(10.0),
            e2e_ms: None,
        };
        let runs = [
            timeline(50, 10, 5),  // meets both (TPOT exactly 10)
            timeline(150, 5, 5),  // TTFT too slow
            timeline(50, 20, 5),  // TPOT too slow
            timeline(100, 99, 1), // one token: TPOT 0, TTFT at the limit
        ];
        assert!(slo.request_meets(&runs[0]));
        assert!(!slo.request_meets(&runs[1]));
        assert!(!slo.request_meets(&runs[2]));
        assert!(slo.request_meets(&runs[3]));
        // 2 good requests over 4 s.
        assert_eq!(slo.goodput(&runs, 4.0), 0.5);
        assert!(Slo::default().request_meets(&runs[1]));
        assert!(!Slo::default().is_set());
    }

    #[test]
    fn the_search_converges_on_the_threshold() {
        let mut tried = Vec::new();
        let best = search_highest_rate(10.0, |r| {
            tried.push(r);
            Ok::<_, ()>(r <= 27.0)
        })
        .unwrap();
        // 10, 20 pass, 40 fails; then 5 halvings of [20, 40] → within 0.625.
        assert!(best <= 27.0 && best > 27.0 - 0.63, "{best} {tried:?}");
        assert_eq!(
            search_highest_rate(10.0, |_| Ok::<_, ()>(false)).unwrap(),
            0.0
        );
    }
}
