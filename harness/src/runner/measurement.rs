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
