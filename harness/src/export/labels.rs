//! The attributes that identify a case in every telemetry sink.
//!
//! Names follow the OpenTelemetry GenAI semantic conventions where one fits
//! (<https://opentelemetry.io/docs/specs/semconv/gen-ai/>): the backend is
//! the `gen_ai.provider.name`, the model the `gen_ai.request.model`; the git
//! commit is the VCS convention's `vcs.ref.head.revision`. Everything else
//! lives under `inferbench.*`. Prometheus sees the same names with `.`
//! replaced by `_` ([`prometheus_name`]).

use crate::results::CaseResult;
use crate::results::json::RunDocument;
use crate::scenario::Case;

/// `gen_ai.operation.name` of one measured iteration. A forward pass over a
/// batch of prompt tokens is none of the convention's predefined operations
/// (chat, text_completion, embeddings…), which allows a custom value.
pub const OPERATION: &str = "forward";

/// `gen_ai.operation.name` of a generation case: the convention's
/// predefined name for completing a prompt.
pub const GENERATION_OPERATION: &str = "text_completion";

#[derive(Debug, Clone, PartialEq)]
pub enum LabelValue {
    Text(String),
    Int(i64),
}

impl std::fmt::Display for LabelValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LabelValue::Text(s) => f.write_str(s),
            LabelValue::Int(i) => write!(f, "{i}"),
        }
    }
}

pub type Labels = Vec<(&'static str, LabelValue)>;

/// The run-level attributes, shared by every case of the run.
pub fn run_labels(run: &RunDocument) -> Labels {
    let mut out = vec![
        (
            "inferbench.scenario",
            LabelValue::Text(run.scenario.clone()),
        ),
        ("inferbench.run.id", LabelValue::Text(run.run_id.clone())),
    ];
    if let Some(commit) = &run.environment.git_commit {
        out.push(("vcs.ref.head.revision", LabelValue::Text(commit.clone())));
    }
    out
}

/// Every attribute of one case: the run's, then the case's own.
pub fn case_labels(run: &RunDocument, r: &CaseResult) -> Labels {
    let mut out = run_labels(run);
    out.extend(case_attributes(&r.case));
    out
}

/// The attributes of a case that do not depend on the run, which
/// `inferbench monitor` gives its live series (with the scenario's name),
/// so one dashboard selects runs and live probes alike.
pub fn case_attributes(c: &Case) -> Labels {
    let int = |v: usize| LabelValue::Int(v as i64);
    vec![
        ("inferbench.case", LabelValue::Text(c.id.clone())),
        (
            "gen_ai.provider.name",
            LabelValue::Text(c.backend.to_string()),
        ),
        (
            "gen_ai.request.model",
            LabelValue::Text(c.model.name.clone()),
        ),
        (
            "gen_ai.operation.name",
            LabelValue::Text(
                if c.generation.is_some() {
                    GENERATION_OPERATION
                } else {
                    OPERATION
                }
                .into(),
            ),
        ),
        ("inferbench.device", LabelValue::Text(c.device.to_string())),
        (
            "inferbench.precision",
            LabelValue::Text(c.precision.to_string()),
        ),
        ("inferbench.batch", int(c.batch)),
        ("inferbench.seq_len", int(c.seq_len)),
        ("inferbench.threads", int(c.threads)),
    ]
}

/// The Prometheus label (or metric) name of an OpenTelemetry name: every
/// character outside `[a-zA-Z0-9_]` becomes `_`, as the OpenTelemetry →
/// Prometheus compatibility rules and VictoriaMetrics'
/// `-opentelemetry.usePrometheusNaming` do.
pub fn prometheus_name(name: &str) -> String {
    name.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prometheus_names_replace_dots() {
        assert_eq!(
            prometheus_name("gen_ai.provider.name"),
            "gen_ai_provider_name"
        );
        assert_eq!(prometheus_name("inferbench.seq_len"), "inferbench_seq_len");
    }
}
