//! One case's probe loop: a request of the case's workload each time the
//! [`Schedule`] says, sent without waiting for the last one (a slow
//! endpoint shows as latency, not as fewer probes), each probe told to the
//! sinks as it ends. At most `max_in_flight` probes wait at once; one
//! falling due past that is a `backlog` error, so a stalled endpoint costs
//! a bounded number of tasks and connections.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime};

use tokio::sync::watch;

use super::instruments::BACKLOG;
use super::probe::Probe;
use super::schedule::Schedule;
use super::sink::ProbeSink;
use crate::runner::warm::Warm;
use crate::scenario::MonitorCase;

/// After the stop, how long probes in flight may still finish and count.
const GRACE: Duration = Duration::from_millis(500);

/// Counts of one case's probes, for the closing line.
#[derive(Debug, Default)]
pub struct Tally {
    pub probes: AtomicU64,
    pub errors: AtomicU64,
}

/// What a probe loop needs besides its generator.
pub struct Prober {
    /// The case's index among the sinks' cases.
    pub case: usize,
    pub settings: MonitorCase,
    pub seed: u64,
    pub sinks: Arc<dyn ProbeSink>,
    pub tally: Arc<Tally>,
}

impl Prober {
    /// Probes until `stop` turns true, then waits up to [`GRACE`] for the
    /// probes in flight.
    pub async fn run(&self, warm: Warm, mut stop: watch::Receiver<bool>) {
        let warm = Arc::new(warm);
        let in_flight = Arc::new(AtomicUsize::new(0));
        let mut schedule = Schedule::new(&self.settings, Instant::now(), self.seed);
        let mut index = 0usize;
        loop {
            let due = schedule.next(Instant::now());
            tokio::select! {
                _ = tokio::time::sleep_until(due.into()) => {}
                _ = stop.changed() => break,
            }
            if *stop.borrow() {
                break;
            }
            let due_at = SystemTime::now() - due.elapsed();
            if in_flight.load(Ordering::Acquire) >= self.settings.max_in_flight {
                let message = format!(
                    "{} probes were still unanswered when this one fell due",
                    self.settings.max_in_flight
                );
                let probe = Probe::failure(due_at, 0.0, BACKLOG.into(), message);
                count(&self.tally, &probe);
                self.sinks.record(self.case, &probe);
            } else {
                in_flight.fetch_add(1, Ordering::AcqRel);
                tokio::spawn(self.probe(warm.clone(), index, (due, due_at), in_flight.clone()));
            }
            index = index.wrapping_add(1);
        }
        let deadline = Instant::now() + GRACE;
        while in_flight.load(Ordering::Acquire) > 0 && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// One probe, told to the sinks when it ends.
    fn probe(
        &self,
        warm: Arc<Warm>,
        index: usize,
        due: (Instant, SystemTime),
        in_flight: Arc<AtomicUsize>,
    ) -> impl std::future::Future<Output = ()> + Send + 'static {
        let (case, sinks, tally) = (self.case, self.sinks.clone(), self.tally.clone());
        async move {
            let request = warm.requests[index % warm.requests.len()].clone();
            let result = warm.generator.generate(request).await;
            let agreement = match (&warm.judge, &result) {
                (Some(judge), Ok(generation)) => judge.agreement(index, generation),
                _ => None,
            };
            let mut probe = Probe::of(due, result, Instant::now());
            if let Ok(answer) = &mut probe.outcome {
                answer.agreement = agreement;
            }
            count(&tally, &probe);
            sinks.record(case, &probe);
            in_flight.fetch_sub(1, Ordering::AcqRel);
        }
    }
}

fn count(tally: &Tally, probe: &Probe) {
    tally.probes.fetch_add(1, Ordering::Relaxed);
    if probe.outcome.is_err() {
        tally.errors.fetch_add(1, Ordering::Relaxed);
    }
}
