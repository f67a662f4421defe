//! Running a sink on its own thread with a deadline, so a receiver that
//! hangs (a black-holed address, a stuck TLS handshake) cannot hold a
//! benchmark: past the deadline the thread is abandoned, and it ends with
//! the process.

use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

pub struct Pending<T> {
    receiver: mpsc::Receiver<T>,
    until: Instant,
}

/// Starts `work` now; [`Pending::wait`] returns its value, or `None` once
/// `deadline` has passed since the start.
pub fn run<T, F>(deadline: Duration, work: F) -> Pending<T>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    let (sender, receiver) = mpsc::channel();
    let until = Instant::now() + deadline;
    // If no thread can be started, the sender is dropped with the closure
    // and wait() yields None: reported like a timeout.
    let _ = thread::Builder::new()
        .name("inferbench-export".into())
        .spawn(move || {
            // The waiting side may have given up; nothing to do then.
            let _ = sender.send(work());
        });
    Pending { receiver, until }
}

impl<T> Pending<T> {
    pub fn wait(self) -> Option<T> {
        let left = self.until.saturating_duration_since(Instant::now());
        self.receiver.recv_timeout(left).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn returns_the_value_or_gives_up_at_the_deadline() {
        assert_eq!(run(Duration::from_secs(5), || 7).wait(), Some(7));
        let started = Instant::now();
        let slow = run(Duration::from_millis(100), || {
            thread::sleep(Duration::from_secs(3));
            1
        });
        assert_eq!(slow.wait(), None);
        assert!(started.elapsed() < Duration::from_secs(2));
    }
}
