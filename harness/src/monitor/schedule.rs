//! When a case's probes fall due: every `interval_s`, each gap drawn
//! uniformly within ± `jitter` of it (mean gap `interval_s`), the first
//! after a random fraction of one gap so that cases started together (or
//! monitors restarted together) do not probe in step.
//!
//! A monitor that falls far behind (a suspended process, a starved
//! runtime) skips the probes it missed rather than firing them in a burst:
//! a probe measures the endpoint at a steady rate, never a catch-up load.
//! "Far" is more than one gap and more than [`CATCH_UP`], so that at high
//! rates a scheduler hiccup of a few milliseconds costs no probes.

use std::time::{Duration, Instant};

use crate::model::rng::SplitMix64;
use crate::scenario::MonitorCase;

/// How far behind a monitor catches up rather than skipping ahead.
const CATCH_UP: Duration = Duration::from_millis(100);

pub struct Schedule {
    interval_s: f64,
    jitter: f64,
    rng: SplitMix64,
    next: Instant,
}

impl Schedule {
    pub fn new(settings: &MonitorCase, start: Instant, seed: u64) -> Self {
        let mut rng = SplitMix64::new(seed ^ 0x009B_0BE5);
        // At most 1 s, so a slow probe shows its first figures soon.
        let phase = rng.next_f64() * settings.interval_s.min(1.0);
        Self {
            interval_s: settings.interval_s,
            jitter: settings.jitter,
            rng,
            next: start + Duration::from_secs_f64(phase),
        }
    }

    /// The next probe's due time; missed ones (far in the past at `now`)
    /// are skipped.
    pub fn next(&mut self, now: Instant) -> Instant {
        let due = self.next;
        let gap = self.gap();
        self.next = due + gap;
        if now > self.next + gap.max(CATCH_UP) {
            // Far behind: start again from now.
            self.next = now + gap;
        }
        due
    }

    fn gap(&mut self) -> Duration {
        let u = 2.0 * self.rng.next_f64() - 1.0;
        Duration::from_secs_f64(self.interval_s * (1.0 + self.jitter * u))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(interval_s: f64, jitter: f64) -> MonitorCase {
        MonitorCase {
            interval_s,
            jitter,
            max_in_flight: 1,
        }
    }

    #[test]
    fn gaps_stay_within_the_jitter_and_average_the_interval() {
        let start = Instant::now();
        let mut s = Schedule::new(&settings(2.0, 0.25), start, 7);
        let dues: Vec<Instant> = (0..2001).map(|_| s.next(start)).collect();
        assert!(dues[0] - start < Duration::from_secs(1));
        let gaps: Vec<f64> = dues
            .windows(2)
            .map(|w| (w[1] - w[0]).as_secs_f64())
            .collect();
        assert!(gaps.iter().all(|g| (1.5..=2.5).contains(g)), "{gaps:?}");
        let mean = gaps.iter().sum::<f64>() / gaps.len() as f64;
        // Uniform on ±0.5 s: sd 0.29 s, so the mean of 2000 is within
        // 0.03 s of 2 s with overwhelming probability.
        assert!((mean - 2.0).abs() < 0.03, "{mean}");
        assert!(gaps.iter().any(|g| *g < 1.6) && gaps.iter().any(|g| *g > 2.4));
        let mut fixed = Schedule::new(&settings(0.5, 0.0), start, 1);
        let (a, b) = (fixed.next(start), fixed.next(start));
        assert_eq!(b - a, Duration::from_millis(500));
    }

    #[test]
    fn a_short_delay_at_a_high_rate_is_caught_up() {
        let start = Instant::now();
        let mut s = Schedule::new(&settings(0.001, 0.0), start, 3);
        let first = s.next(start);
        // 20 ms late at 1,000 probes/s: the 20 due since are all sent.
        let late = first + Duration::from_millis(20);
        let dues: Vec<Instant> = (0..21).map(|_| s.next(late)).collect();
        assert_eq!(dues[20] - first, Duration::from_millis(21));
    }

    #[test]
    fn a_monitor_that_fell_behind_skips_the_missed_probes() {
        let start = Instant::now();
        let mut s = Schedule::new(&settings(1.0, 0.0), start, 3);
        let first = s.next(start);
        // Ten seconds later: the next due is not ten probes in a burst.
        let late = first + Duration::from_secs(10);
        let due = s.next(late);
        assert_eq!(due, first + Duration::from_secs(1), "the one already due");
        let after = s.next(late);
        assert_eq!(after, late + Duration::from_secs(1));
    }
}
