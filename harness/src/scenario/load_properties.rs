//! Property tests of the scenario loader: any value in any key, top level
//! or in a `[[cases]]` entry, never panics the loader, and every error
//! points at a file location.

use std::path::Path;

use proptest::prelude::*;

use super::{ScenarioError, parse_str};

/// Every key of the format, by table ("" is the top level).
const KEYS: &[(&str, &[&str])] = &[
    (
        "",
        &[
            "name",
            "backends",
            "devices",
            "precisions",
            "batch",
            "seq_len",
            "threads",
            "max_cases",
        ],
    ),
    (
        "model",
        &[
            "name",
            "dims",
            "vocab_size",
            "hidden",
            "layers",
            "heads",
            "max_seq",
            "seed",
        ],
    ),
    ("warmup", &["iterations", "seconds"]),
    (
        "measurement",
        &[
            "min_iterations",
            "min_seconds",
            "max_iterations",
            "max_seconds",
        ],
    ),
    (
        "accuracy",
        &[
            "reference",
            "max_abs",
            "max_rel_l2",
            "max_kl",
            "min_top1",
            "min_cosine",
        ],
    ),
    (
        "generation",
        &[
            "prompt_len",
            "gen_len",
            "requests",
            "pattern",
            "rate",
            "target_p99_ttft_ms",
            "search_rate",
            "concurrency",
            "seed",
            "timeout_ms",
            "max_error_rate",
        ],
    ),
    ("inputs", &["seed"]),
    (
        "options.ort",
        &[
            "intra_op_threads",
            "graph_optimization",
            "spinning",
            "execution_mode",
        ],
    ),
    ("gate", &["confidence", "latency_p50", "clock", "resamples"]),
];

fn float_text(v: f64) -> String {
    if v.is_nan() {
        "nan".into()
    } else if v.is_infinite() {
        if v > 0.0 { "inf".into() } else { "-inf".into() }
    } else {
        format!("{v:?}")
    }
}

/// A TOML value of any kind, small enough that valid files stay small.
fn value() -> impl Strategy<Value = String> {
    let scalar = prop_oneof![
        any::<i64>().prop_map(|v| v.to_string()),
        (0i64..6).prop_map(|v| v.to_string()),
        any::<f64>().prop_map(float_text),
        prop_oneof![Just(f64::NAN), Just(f64::INFINITY), Just(-1.0), Just(0.0)]
            .prop_map(float_text),
        any::<bool>().prop_map(|b| b.to_string()),
        "[a-z0-9_]{0,8}".prop_map(|s| format!("\"{s}\"")),
        prop_oneof![
            Just("candle"),
            Just("ort"),
            Just("f32"),
            Just("server"),
            Just("cpu")
        ]
        .prop_map(|s| format!("\"{s}\"")),
    ];
    prop_oneof![
        4 => scalar.clone(),
        1 => prop::collection::vec(scalar.clone(), 0..4).prop_map(|v| format!("[{}]", v.join(", "))),
        1 => scalar.prop_map(|v| format!("{{ x = {v} }}")),
    ]
}

/// Settings of one table: (table index, key index, value).
fn settings() -> impl Strategy<Value = Vec<(usize, usize, String)>> {
    prop::collection::vec((0..KEYS.len(), 0..16usize, value()), 0..8)
}

fn render(settings: &[(usize, usize, String)], prefix: &str) -> String {
    let mut text = String::new();
    for (t, (table, keys)) in KEYS.iter().enumerate() {
        let lines: Vec<String> = settings
            .iter()
            .filter(|(st, ..)| *st == t)
            .map(|(_, k, v)| format!("{} = {v}\n", keys[k % keys.len()]))
            .collect();
        if lines.is_empty() {
            continue;
        }
        // One line per key: a key written twice is a TOML error (located too),
        // but the property is about values, so keep the first.
        let mut seen = std::collections::HashSet::new();
        let lines: Vec<&String> = lines
            .iter()
            .filter(|l| seen.insert(l.split(" = ").next().unwrap_or("").to_string()))
            .collect();
        if !table.is_empty() {
            text.push_str(&format!("[{prefix}{table}]\n"));
        }
        lines.iter().for_each(|l| text.push_str(l));
    }
    text
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn any_value_in_any_key_loads_or_is_a_located_error(
        top in settings(),
        group in prop::option::of(settings()),
    ) {
        // Top-level scalars first, then tables, then one [[cases]] entry.
        let (scalars, tables): (Vec<_>, Vec<_>) = top.into_iter().partition(|(t, ..)| *t == 0);
        let mut text = render(&scalars, "");
        text.push_str(&render(&tables, ""));
        if let Some(group) = group {
            let (scalars, tables): (Vec<_>, Vec<_>) = group.into_iter().partition(|(t, ..)| *t == 0);
            text.push_str("[[cases]]\n");
            text.push_str(&render(&scalars, ""));
            text.push_str(&render(&tables, "cases."));
        }
        match parse_str(&text, Path::new("s.toml"), "s", 2) {
            Ok(loaded) => prop_assert!(loaded.cases.len() <= super::expand::DEFAULT_MAX_CASES),
            Err(ScenarioError::Invalid { line, column, rendered, .. }) => {
                prop_assert!(line >= 1 && column >= 1);
                let location = format!("s.toml:{line}:{column}: ");
                prop_assert!(rendered.starts_with(&location), "{}\n---\n{}", rendered, text);
            }
            Err(other) => prop_assert!(false, "not located: {other}"),
        }
    }
}
