//! The Grafana dashboard (ci/grafana/inferbench.json): its panels for
//! benchmark runs (above the "Live" row) and for `inferbench monitor`
//! (below it), and their queries as a store answers them.

#![allow(dead_code)]

use std::path::Path;

use serde_json::Value;

fn dashboard() -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../ci/grafana/inferbench.json");
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// The panels above the live row (`live` false) or below it (`live` true).
pub fn panels(live: bool) -> Vec<Value> {
    let panels = dashboard()["panels"].as_array().unwrap().clone();
    let row = panels
        .iter()
        .position(|p| p["type"] == "row" && p["title"].as_str().unwrap().starts_with("Live"))
        .expect("the dashboard has a Live row");
    if live {
        panels[row + 1..].to_vec()
    } else {
        panels[..row].to_vec()
    }
}

/// A panel's queries with the variables set to "all" and Grafana's
/// `$__rate_interval` to `rate_interval`.
pub fn queries(panel: &Value, rate_interval: &str) -> Vec<String> {
    panel["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|target| {
            let mut expr = target["expr"].as_str().unwrap().to_string();
            for var in ["$scenario", "$backend", "$precision", "$model"] {
                expr = expr.replace(var, ".*");
            }
            expr.replace("$__rate_interval", rate_interval)
        })
        .collect()
}
