//! A test knob for the regression gate: a [`Session`] wrapper that makes
//! each forward pass a controlled N% slower, so the gate's detection rate
//! can be measured against a known, real slowdown.
//!
//! The extra time is a busy-wait, not a sleep: a sleeping thread yields its
//! core and wakes with scheduler jitter, while a spinning one behaves like
//! the extra compute a real regression adds. The pass's cost is read from
//! the process CPU clock, and the spin lasts until that clock advanced by
//! N% of it: the added work is N% of the pass's work whether or not the
//! pass was preempted, so wall time and CPU time both grow by N%.

use std::time::{Duration, Instant};

use inferbench_backend::{BackendError, HostTensor, Session, TokenBatch};

use super::measurement::process_cpu_ns;

pub struct SlowedSession {
    inner: Box<dyn Session>,
    /// Extra work as a fraction of each pass's own (0.05 = 5%).
    fraction: f64,
}

impl SlowedSession {
    /// Wraps `inner`; `percent` of each `run`'s cost is added to it.
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
        let (wall, cpu) = (Instant::now(), process_cpu_ns());
        self.inner.run()?;
        let (took, cpu_end) = (wall.elapsed(), process_cpu_ns());
        if cpu_end == 0 {
            // No CPU clock here: fall back to wall time.
            spin_until(wall, took.mul_f64(1.0 + self.fraction));
            return Ok(());
        }
        let extra = ((cpu_end - cpu) as f64 * self.fraction) as u64;
        while process_cpu_ns().saturating_sub(cpu_end) < extra {
            std::hint::spin_loop();
        }
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
    use std::sync::{Arc, Mutex};

    /// A session whose pass spins for a fixed time and records the process
    /// CPU time that pass took.
    struct Fixed(Duration, Arc<Mutex<u64>>);

    impl Session for Fixed {
        fn prepare(&mut self, _: &TokenBatch) -> Result<(), BackendError> {
            Ok(())
        }
        fn run(&mut self) -> Result<(), BackendError> {
            let cpu = process_cpu_ns();
            spin_until(Instant::now(), self.0);
            *self.1.lock().unwrap() = process_cpu_ns() - cpu;
            Ok(())
        }
        fn outputs(&mut self) -> Result<Vec<HostTensor>, BackendError> {
            Ok(Vec::new())
        }
    }

    #[test]
    fn a_pass_costs_at_least_the_added_fraction_more() {
        let inner = Arc::new(Mutex::new(0));
        let pass = Duration::from_millis(4);
        let mut slowed = SlowedSession::new(Box::new(Fixed(pass, inner.clone())), 50.0);
        let (wall, cpu) = (Instant::now(), process_cpu_ns());
        slowed.run().unwrap();
        let (took, cost) = (wall.elapsed(), process_cpu_ns() - cpu);
        // Lower bounds only: other work can add time, never remove it.
        let inner = *inner.lock().unwrap();
        assert!(inner > 0);
        assert!(cost as f64 >= 1.5 * inner as f64, "{cost} vs {inner}");
        assert!(took >= pass, "{took:?}");
    }
}
