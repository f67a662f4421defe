//! Where probes go: each output of a monitor (the `/metrics` exposition,
//! the OTLP push) is one [`ProbeSink`], told every probe as it ends.

use super::probe::Probe;
use crate::export::labels::{Labels, case_attributes};
use crate::scenario::Case;

/// What every sink knows of a case: the attributes of its series (those of
/// a benchmark run's case, so one dashboard selects both) and its limits.
#[derive(Debug, Clone)]
pub struct CaseSeries {
    pub attributes: Labels,
    pub slo_ttft_ms: Option<f64>,
    /// `gen_ai.request.model`, for span names.
    pub model: String,
}

impl CaseSeries {
    pub fn of(case: &Case) -> Self {
        let mut attributes = vec![(
            "inferbench.scenario",
            crate::export::labels::LabelValue::Text(case.scenario.clone()),
        )];
        attributes.extend(case_attributes(case));
        Self {
            attributes,
            slo_ttft_ms: case.generation.as_ref().and_then(|g| g.slo.ttft_ms),
            model: case.model.name.clone(),
        }
    }
}

/// An output of the monitor. `case` indexes the cases it was built with.
pub trait ProbeSink: Send + Sync {
    fn record(&self, case: usize, probe: &Probe);

    /// Sends what is buffered; called once at the end.
    fn flush(&self) {}
}

/// Every sink, told in turn.
pub struct Sinks(pub Vec<Box<dyn ProbeSink>>);

impl ProbeSink for Sinks {
    fn record(&self, case: usize, probe: &Probe) {
        self.0.iter().for_each(|s| s.record(case, probe));
    }

    fn flush(&self) {
        self.0.iter().for_each(|s| s.flush());
    }
}

impl<T: ProbeSink + ?Sized> ProbeSink for std::sync::Arc<T> {
    fn record(&self, case: usize, probe: &Probe) {
        (**self).record(case, probe);
    }

    fn flush(&self) {
        (**self).flush();
    }
}
