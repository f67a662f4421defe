//! A test knob for the regression gate: a [`Session`] wrapper that makes
//! each forward pass a controlled N% slower, so the gate's detection rate
//! can be measured against a known, real slowdown.
//!
//! The extra time is a busy-wait, not a sleep: a sleeping thread yields its
//! core and wakes with scheduler jitter, while a spinning one behaves like
//! the extra compute a real regression adds.

use std::time::{Duration, Instant};

use inferbench_backend::{BackendError, HostTensor, Session, TokenBatch};

pub struct SlowedSession {
    inner: Box<dyn Session>,
    /// Extra time as a fraction of each pass's own time (0.05 = 5%).
    fraction: f64,
}

impl SlowedSession {
    /// Wraps `inner`; `percent` of each `run`'s duration is added to it.
    pub fn new(inner: Box<dyn Session>, percent: f64) -> Self {
        Self {
            inner,
            fraction: percent / 100.0,
        }
    }
}

/// Spins until `duration` has passed since `from`.
fn spin_until(from: Instant, duration: Duration) {
    while from.elapsed() < duration {
        std::hint::spin_loop();
    }
}

impl Session for SlowedSession {
    fn prepare(&mut self, input: &TokenBatch) -> Result<(), BackendError> {
        self.inner.prepare(input)
    }

    fn run(&mut self) -> Result<(), BackendError> {
        let started = Instant::now();
        self.inner.run()?;
        let took = started.elapsed();
        spin_until(started, took.mul_f64(1.0 + self.fraction));
        Ok(())
    }

    fn outputs(&mut self) -> Result<Vec<HostTensor>, BackendError> {
        self.inner.outputs()
    }

    fn weight_bytes(&self) -> Option<u64> {
        self.inner.weight_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A session whose pass spins for a fixed time.
    struct Fixed(Duration);

    impl Session for Fixed {
        fn prepare(&mut self, _: &TokenBatch) -> Result<(), BackendError> {
            Ok(())
        }
        fn run(&mut self) -> Result<(), BackendError> {
            spin_until(Instant::now(), self.0);
            Ok(())
        }
        fn outputs(&mut self) -> Result<Vec<HostTensor>, BackendError> {
            Ok(Vec::new())
        }
    }

    #[test]
    fn a_pass_takes_at_least_the_added_fraction_longer() {
        let pass = Duration::from_millis(4);
        let mut slowed = SlowedSession::new(Box::new(Fixed(pass)), 50.0);
        let started = Instant::now();
        slowed.run().unwrap();
        // Lower bound only: a busy machine can make it slower, never faster.
        assert!(started.elapsed() >= pass.mul_f64(1.5), "{:?}", started.elapsed());
    }
}
