//! What one iteration is measured with. Modeled on criterion's
//! `Measurement` trait, so wall time, device-synchronized time or a counter
//! plug into the same loop.

use std::time::Instant;

pub trait Measurement {
    type Intermediate;

    fn start(&self) -> Self::Intermediate;

    /// The value of one iteration, in [`Measurement::unit`].
    fn end(&self, started: Self::Intermediate) -> u64;

    fn unit(&self) -> &'static str;
}

/// Wall-clock time from the monotonic clock, in nanoseconds.
pub struct WallTime;

impl Measurement for WallTime {
    type Intermediate = Instant;

    fn start(&self) -> Instant {
        Instant::now()
    }

    fn end(&self, started: Instant) -> u64 {
        started.elapsed().as_nanos() as u64
    }

    fn unit(&self) -> &'static str {
        "ns"
    }
}

/// CPU time of the whole process (all its threads), in nanoseconds:
/// `clock_gettime(CLOCK_PROCESS_CPUTIME_ID)` (POSIX). It does not advance
/// while the process waits for a core, so on a shared machine it shows the
/// work a pass does, not the queue it stood in. The regression gate can
/// compare it instead of wall time (`[gate] clock = "cpu"`).
pub struct ProcessCpuTime;

/// The process's CPU time so far; 0 if the clock is unavailable.
pub fn process_cpu_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec for the call's duration.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    if rc != 0 {
        return 0;
    }
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

impl Measurement for ProcessCpuTime {
    type Intermediate = u64;

    fn start(&self) -> u64 {
        process_cpu_ns()
    }

    fn end(&self, started: u64) -> u64 {
        process_cpu_ns().saturating_sub(started)
    }

    fn unit(&self) -> &'static str {
        "ns"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_time_advances_with_work() {
        let t = ProcessCpuTime.start();
        let w = Instant::now();
        while w.elapsed().as_millis() < 200 {
            std::hint::black_box(0u64);
        }
        let worked = ProcessCpuTime.end(t);
        // A lower bound only: on a loaded machine the spinning thread gets
        // a fraction of a core, and other test threads add to the count.
        assert!(worked > 1_000_000, "{worked}");
        assert!(process_cpu_ns() >= t + worked);
    }
}
