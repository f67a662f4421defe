//! Reading back the spans the rotel collector prints with
//! `--debug-log traces --debug-log-verbosity detailed` (the layout of the
//! OpenTelemetry Collector's debug exporter).

#![allow(dead_code)]

use std::collections::BTreeMap;

/// One span as rotel's detailed debug log prints it.
#[derive(Debug, Clone, Default)]
pub struct PrintedSpan {
    pub trace_id: String,
    pub parent_id: String,
    pub id: String,
    pub name: String,
    pub start_ns: u64,
    pub end_ns: u64,
    pub status: String,
    pub status_message: String,
    pub attributes: BTreeMap<String, String>,
    pub events: Vec<String>,
    /// Attributes of the events, `key: value`.
    pub event_attributes: Vec<String>,
}

impl PrintedSpan {
    pub fn number(&self, key: &str) -> f64 {
        self.attributes
            .get(key)
            .unwrap_or_else(|| panic!("{} has no attribute {key}", self.name))
            .parse()
            .unwrap_or_else(|_| panic!("{key} = {:?}", self.attributes[key]))
    }
}

/// `Str(x)` / `Int(3)` / `Double(0.5)` → `x` / `3` / `0.5`.
fn unwrap_value(v: &str) -> String {
    match (v.find('('), v.ends_with(')')) {
        (Some(i), true) => v[i + 1..v.len() - 1].to_string(),
        _ => v.to_string(),
    }
}

fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Parses rotel's `--debug-log-verbosity detailed` span dump (the
/// OpenTelemetry Collector debug exporter's layout).
pub fn parse_spans(output: &str) -> Vec<PrintedSpan> {
    let mut spans: Vec<PrintedSpan> = Vec::new();
    let mut in_events = false;
    for line in strip_ansi(output).lines() {
        let t = line.trim();
        if t.starts_with("Span #") {
            spans.push(PrintedSpan::default());
            in_events = false;
            continue;
        }
        if t.starts_with("ResourceSpans #") || t.starts_with("ScopeSpans #") {
            in_events = false;
        }
        let Some(span) = spans.last_mut() else {
            continue;
        };
        let field = |prefix: &str| {
            t.strip_prefix(prefix)
                .map(|rest| rest.trim_start().trim_start_matches(':').trim().to_string())
        };
        if t == "Events:" {
            in_events = true;
        } else if let Some(v) = field("Trace ID") {
            span.trace_id = v;
        } else if let Some(v) = field("Parent ID") {
            span.parent_id = v;
        } else if let Some(v) = field("ID") {
            span.id = v;
        } else if let Some(v) = field("Name") {
            span.name = v;
        } else if let Some(v) = field("Start time") {
            span.start_ns = v.parse().unwrap_or(0);
        } else if let Some(v) = field("End time") {
            span.end_ns = v.parse().unwrap_or(0);
        } else if let Some(v) = field("Status code") {
            span.status = v;
        } else if let Some(v) = field("Status message") {
            span.status_message = v;
        } else if let Some(rest) = t.strip_prefix("-> ") {
            let Some((k, v)) = rest.split_once(": ") else {
                continue;
            };
            if in_events {
                if k == "Name" {
                    span.events.push(v.to_string());
                } else if k != "Timestamp" && k != "DroppedAttributesCount" {
                    span.event_attributes
                        .push(format!("{k}: {}", unwrap_value(v)));
                }
            } else {
                span.attributes.insert(k.to_string(), unwrap_value(v));
            }
        }
    }
    spans
}
