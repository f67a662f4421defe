//! The Prometheus Pushgateway sink, the Prometheus way for batch jobs
//! (<https://prometheus.io/docs/practices/pushing/>): each run's figures in
//! the text exposition format, PUT to
//! `/metrics/job/inferbench/scenario/<scenario>`, so every run replaces the
//! previous figures of its scenario and Prometheus's scrapes turn them into
//! series over time. Metric and label names are the ones OTLP metrics get
//! in a Prometheus-compatible store, so one Grafana dashboard reads both.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use super::figures::{
    self, CASES_COUNTER_PROMETHEUS, LATENCY_BOUNDS, LATENCY_HISTOGRAM_PROMETHEUS, STATUS_LABEL,
};
use super::labels::{case_labels, prometheus_name};
use super::{ExportError, Exporter};
use crate::results::json::RunDocument;

const TIMEOUT: Duration = Duration::from_secs(10);

pub struct PushgatewayExporter {
    base: String,
}

impl PushgatewayExporter {
    pub fn new(url: &str) -> Result<Self, ExportError> {
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(ExportError::Config(format!(
                "--pushgateway {url:?} needs a scheme, e.g. http://{url}"
            )));
        }
        Ok(Self {
            base: url.trim_end_matches('/').to_string(),
        })
    }

    /// The group of a run: `job/inferbench/scenario/<name>`, the value in
    /// the `@base64` form when it could not stand in a path segment.
    pub fn group_url(&self, scenario: &str) -> String {
        let plain = !scenario.is_empty()
            && scenario
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
        if plain {
            format!("{}/metrics/job/inferbench/scenario/{scenario}", self.base)
        } else {
            format!(
                "{}/metrics/job/inferbench/scenario@base64/{}",
                self.base,
                base64url(scenario.as_bytes())
            )
        }
    }
}

impl Exporter for PushgatewayExporter {
    fn describe(&self) -> String {
        format!("Pushgateway {}", self.base)
    }

    fn deadline(&self) -> Duration {
        TIMEOUT + Duration::from_secs(2)
    }

    fn export(&self, run: &RunDocument) -> Result<(), ExportError> {
        super::otlp::install_tls_provider();
        let fail = |reason: String| ExportError::Delivery {
            target: self.describe(),
            reason,
        };
        let client = reqwest::blocking::Client::builder()
            .timeout(TIMEOUT)
            .build()
            .map_err(|e| fail(format!("cannot build an HTTP client: {e}")))?;
        let response = client
            .put(self.group_url(&run.scenario))
            .header("Content-Type", "text/plain; version=0.0.4")
            .body(exposition(run))
            .send()
            .map_err(|e| fail(crate::runner::error_chain(&e)))?;
        let status = response.status();
        if status.is_success() {
            Ok(())
        } else {
            let body = response.text().unwrap_or_default();
            Err(fail(format!("HTTP {status}: {}", body.trim())))
        }
    }
}

/// RFC 4648 §5 base64url without padding, as the Pushgateway's `@base64`
/// label values take it.
fn base64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &b)| n | (b as u32) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
    }
    out
}

/// A label value in the exposition format: `\`, `"` and newlines escaped.
fn escape(value: &str) -> String {
    value
        .replace('\\', r"\\")
        .replace('"', "\\\"")
        .replace('\n', r"\n")
}

fn label_set(labels: &[(String, String)]) -> String {
    let inner: Vec<String> = labels
        .iter()
        .map(|(k, v)| format!("{k}=\"{}\"", escape(v)))
        .collect();
    format!("{{{}}}", inner.join(","))
}

/// A float as Prometheus writes it (`+Inf`, `NaN`).
fn number(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v == f64::INFINITY {
        "+Inf".into()
    } else if v == f64::NEG_INFINITY {
        "-Inf".into()
    } else {
        format!("{v}")
    }
}

struct Family {
    kind: &'static str,
    help: &'static str,
    lines: Vec<String>,
}

/// The whole run in the text exposition format: one family per figure,
/// the latency histogram and the case counter, every sample labelled with
/// its case.
pub fn exposition(run: &RunDocument) -> String {
    let mut families: BTreeMap<&'static str, Family> = BTreeMap::new();
    let mut family = |name: &'static str, kind: &'static str, help: &'static str| {
        families.entry(name).or_insert_with(|| Family {
            kind,
            help,
            lines: Vec::new(),
        });
        name
    };
    let mut lines: Vec<(&'static str, String)> = Vec::new();
    let mut counts: BTreeMap<Vec<(String, String)>, u64> = BTreeMap::new();
    for r in &run.cases {
        let labels: Vec<(String, String)> = case_labels(run, r)
            .into_iter()
            .map(|(k, v)| (prometheus_name(k), v.to_string()))
            .collect();
        for f in figures::of(r) {
            let name = family(f.prometheus, "gauge", f.description);
            lines.push((
                name,
                format!("{name}{} {}", label_set(&labels), number(f.value)),
            ));
        }
        if !r.samples_ns.is_empty() {
            let name = family(
                LATENCY_HISTOGRAM_PROMETHEUS,
                "histogram",
                "Latency of one measured forward pass.",
            );
            let mut cumulative = 0;
            let buckets = figures::latency_bucket_counts(&r.samples_ns);
            let bounds = LATENCY_BOUNDS
                .iter()
                .map(|&b| number(b))
                .chain(["+Inf".into()]);
            for (le, count) in bounds.zip(buckets) {
                cumulative += count;
                let mut with_le = labels.clone();
                with_le.push(("le".into(), le));
                lines.push((
                    name,
                    format!("{name}_bucket{} {cumulative}", label_set(&with_le)),
                ));
            }
            let sum: f64 = r.samples_ns.iter().map(|&ns| ns as f64 * 1e-9).sum();
            let set = label_set(&labels);
            lines.push((name, format!("{name}_sum{set} {}", number(sum))));
            lines.push((name, format!("{name}_count{set} {}", r.samples_ns.len())));
        }
        let mut with_status = labels;
        with_status.push((prometheus_name(STATUS_LABEL), r.status.as_str().to_string()));
        *counts.entry(with_status).or_default() += 1;
    }
    let name = family(
        CASES_COUNTER_PROMETHEUS,
        "counter",
        "Cases of the run by outcome (measured, skipped, error, failed).",
    );
    for (labels, n) in counts {
        lines.push((name, format!("{name}{} {n}", label_set(&labels))));
    }
    for (name, line) in lines {
        if let Some(f) = families.get_mut(name) {
            f.lines.push(line);
        }
    }
    let mut out = String::new();
    for (name, f) in families {
        let _ = writeln!(out, "# HELP {name} {}", f.help);
        let _ = writeln!(out, "# TYPE {name} {}", f.kind);
        for line in f.lines {
            out.push_str(&line);
            out.push('\n');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64url_by_rfc4648_vectors() {
        // RFC 4648 §10 test vectors, without padding.
        for (plain, encoded) in [
            ("", ""),
            ("f", "Zg"),
            ("fo", "Zm8"),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg"),
            ("fooba", "Zm9vYmE"),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64url(plain.as_bytes()), encoded, "{plain}");
        }
        // The URL-safe alphabet: 0xfb 0xff → "-_8".
        assert_eq!(base64url(&[0xfb, 0xff]), "-_8");
    }

    #[test]
    fn groups_and_escapes() {
        let p = PushgatewayExporter::new("http://h:9091/").unwrap();
        assert_eq!(
            p.group_url("tiny"),
            "http://h:9091/metrics/job/inferbench/scenario/tiny"
        );
        assert_eq!(
            p.group_url("a/b"),
            "http://h:9091/metrics/job/inferbench/scenario@base64/YS9i"
        );
        assert_eq!(escape("a\"b\\c\nd"), r#"a\"b\\c\nd"#);
        assert!(PushgatewayExporter::new("h:9091").is_err());
    }
}
