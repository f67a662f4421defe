//! What one iteration is measured with. Modeled on criterion's
//! `Measurement` trait, so wall time, device-synchronized time or a counter
//! plug into the same loop.

use super::protocol::{CPU, Series, WALL};

/// One clock of the measured loop. Object-safe, so a case measures with a
/// list of them, each giving one [`Series`] with its unit.
pub trait Measurement {
    /// The series' name in reports (`wall`, `cpu`; `device` on GPUs).
    fn name(&self) -> &'static str;

    fn unit(&self) -> &'static str;

    /// A reading taken just before the pass.
    fn start(&self) -> u64;

    /// The pass's value, from the reading [`Measurement::start`] took.
    fn end(&self, started: u64) -> u64;

    /// An empty series for this measurement's values.
    fn series(&self) -> Series {
        Series::new(self.name(), self.unit())
    }
}

/// Wall-clock time from the monotonic clock, in nanoseconds.
pub struct WallTime;

impl Measurement for WallTime {
    fn name(&self) -> &'static str {
        WALL
    }

    fn unit(&self) -> &'static str {
        "ns"
    }

    fn start(&self) -> u64 {
        clock_ns(libc::CLOCK_MONOTONIC)
    }

    fn end(&self, started: u64) -> u64 {
        clock_ns(libc::CLOCK_MONOTONIC).saturating_sub(started)
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
    clock_ns(libc::CLOCK_PROCESS_CPUTIME_ID)
}

/// `clock_gettime` of `clock` in nanoseconds; 0 if the clock is
/// unavailable (POSIX guarantees both clocks used here on Linux).
fn clock_ns(clock: libc::clockid_t) -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec for the call's duration.
    let rc = unsafe { libc::clock_gettime(clock, &mut ts) };
    if rc != 0 {
        return 0;
    }
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

impl Measurement for ProcessCpuTime {
    fn name(&self) -> &'static str {
        CPU
    }

    fn unit(&self) -> &'static str {
        "ns"
    }

    fn start(&self) -> u64 {
        process_cpu_ns()
    }

    fn end(&self, started: u64) -> u64 {
        process_cpu_ns().saturating_sub(started)
    }
}

/// What every measured pass records, outermost first: the CPU clock
/// brackets the wall clock, so the wall time is the tighter of the two.
pub fn standard() -> [&'static dyn Measurement; 2] {
    [&ProcessCpuTime, &WallTime]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wall_time_counts_a_sleep() {
        let t = WallTime.start();
        std::thread::sleep(std::time::Duration::from_millis(20));
        let slept = WallTime.end(t);
        assert!((20_000_000..2_000_000_000).contains(&slept), "{slept}");
    }

    #[test]
    fn cpu_time_advances_with_work() {
        let t = ProcessCpuTime.start();
        let w = std::time::Instant::now();
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
