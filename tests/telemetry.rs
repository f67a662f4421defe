//! Telemetry end to end: the real `inferbench` binary sends runs to real
//! receivers started here (VictoriaMetrics, rotel, Prometheus with a
//! Pushgateway, TensorBoard's own reader), and what they received is read
//! back and compared with `results.csv` / `results.json`.

mod support;

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, Instant};

use assert_cmd::Command;
use support::receivers::{
    PushgatewayStack, Rotel, VictoriaMetrics, VictoriaMetricsOptions, free_port, poll, promql,
    vendor_bin,
};
use support::rotel_output::PrintedSpan;

const OTEL_VARIABLES: &[&str] = &[
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    "OTEL_EXPORTER_OTLP_PROTOCOL",
    "OTEL_EXPORTER_OTLP_HEADERS",
    "OTEL_EXPORTER_OTLP_TIMEOUT",
    "OTEL_METRICS_EXPORTER",
    "OTEL_TRACES_EXPORTER",
    "OTEL_SERVICE_NAME",
    "OTEL_RESOURCE_ATTRIBUTES",
    "OTEL_SDK_DISABLED",
];

fn tiny() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/scenarios/tiny.toml")
}

/// The binary with a private cache and none of the caller's OTEL settings.
fn inferbench(cache: &Path) -> Command {
    let mut cmd = Command::cargo_bin("inferbench").unwrap();
    cmd.env("INFERBENCH_CACHE_DIR", cache);
    for v in OTEL_VARIABLES {
        cmd.env_remove(v);
    }
    cmd
}

/// `inferbench run` of the tiny scenario (candle and ORT cases measured,
/// tch skipped without its feature) into `out`, with `args` and `env`.
fn tiny_command(tmp: &Path, out: &Path, args: &[&str], env: &[(&str, String)]) -> Command {
    let mut cmd = inferbench(tmp);
    cmd.args([
        "run",
        tiny().to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ])
    .args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd
}

/// Runs the tiny scenario into `tmp/runs`; returns the run folder and the
/// command's output.
fn run_tiny(tmp: &Path, args: &[&str], env: &[(&str, String)]) -> (PathBuf, Output) {
    let out = tmp.join("runs");
    let output = tiny_command(tmp, &out, args, env).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "run failed: {stderr}");
    let dirs: Vec<PathBuf> = fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(dirs.len(), 1, "{dirs:?}");
    (dirs[0].clone(), output)
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn read_csv(dir: &Path) -> Vec<HashMap<String, String>> {
    support::read_csv(&dir.join("results.csv"))
}

fn read_json(dir: &Path) -> serde_json::Value {
    serde_json::from_slice(&fs::read(dir.join("results.json")).unwrap()).unwrap()
}

fn num(row: &HashMap<String, String>, col: &str) -> f64 {
    row[col]
        .parse()
        .unwrap_or_else(|_| panic!("{col} = {:?}", row[col]))
}

fn measured(rows: &[HashMap<String, String>]) -> Vec<&HashMap<String, String>> {
    let m: Vec<_> = rows.iter().filter(|r| r["status"] == "measured").collect();
    // Candle always runs; ORT and tch rows are measured where their
    // runtimes are installed (ci/setup.sh) and skipped otherwise.
    let candle = m.iter().filter(|r| r["backend"] == "candle").count();
    assert_eq!(candle, 2, "the tiny scenario measures two candle cases");
    assert!(
        rows.iter()
            .all(|r| r["status"] == "measured" || r["status"] == "skipped")
    );
    m
}

/// The stored samples of a case, nanoseconds.
fn samples_ns(json: &serde_json::Value, case: &str) -> Vec<u64> {
    json["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["case"]["id"] == case)
        .unwrap()["samples_ns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect()
}

/// `a` equals `b` up to the last digit of a decimal print (f64 round trip).
fn same(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()) + 1e-300
}

/// (Prometheus metric, results.csv column, factor from the column's unit to
/// the metric's) for every figure the CSV also has.
const FIGURES_VS_CSV: &[(&str, &str, f64)] = &[
    ("inferbench_latency_min_seconds", "latency_min_ms", 1e-3),
    ("inferbench_latency_mean_seconds", "latency_mean_ms", 1e-3),
    (
        "inferbench_latency_stddev_seconds",
        "latency_stddev_ms",
        1e-3,
    ),
    ("inferbench_latency_p50_seconds", "latency_p50_ms", 1e-3),
    ("inferbench_latency_p90_seconds", "latency_p90_ms", 1e-3),
    ("inferbench_latency_p95_seconds", "latency_p95_ms", 1e-3),
    ("inferbench_latency_p99_seconds", "latency_p99_ms", 1e-3),
    ("inferbench_latency_max_seconds", "latency_max_ms", 1e-3),
    (
        "inferbench_throughput_sequences_per_second",
        "throughput_seq_per_s",
        1.0,
    ),
    (
        "inferbench_throughput_tokens_per_second",
        "throughput_tokens_per_s",
        1.0,
    ),
    ("inferbench_compute_flops_per_second", "gflop_per_s", 1e9),
    ("inferbench_memory_peak_rss_bytes", "peak_rss_bytes", 1.0),
    ("inferbench_model_weight_size_bytes", "weight_bytes", 1.0),
    ("inferbench_load_duration_seconds", "load_ms", 1e-3),
    ("inferbench_accuracy_max_abs_error", "acc_max_abs", 1.0),
    ("inferbench_accuracy_rel_l2_error", "acc_rel_l2", 1.0),
    ("inferbench_accuracy_cosine", "acc_cosine", 1.0),
    ("inferbench_accuracy_top1_agreement", "acc_top1", 1.0),
    ("inferbench_accuracy_kl_divergence", "acc_kl", 1.0),
];

/// (figure, results.csv column, factor from the column's unit to the
/// figure's) for some figures of a case, as its span's attributes and its
/// TensorBoard tags name them (both carry every figure).
const CASE_FIGURES: &[(&str, &str, f64)] = &[
    ("inferbench.latency.p50", "latency_p50_ms", 1e-3),
    ("inferbench.latency.p99", "latency_p99_ms", 1e-3),
    (
        "inferbench.throughput.tokens",
        "throughput_tokens_per_s",
        1.0,
    ),
    ("inferbench.memory.peak_rss", "peak_rss_bytes", 1.0),
    ("inferbench.accuracy.rel_l2_error", "acc_rel_l2", 1.0),
    ("inferbench.accuracy.kl_divergence", "acc_kl", 1.0),
];

/// Every figure of every measured case, the latency histogram's count and
/// sum, and the case counter, as a Prometheus-compatible store answers
/// them, checked against the run's own files.
fn assert_store_matches_run(query_url: &str, dir: &Path, run_id: &str) {
    let rows = read_csv(dir);
    let json = read_json(dir);
    let in_run = |q: &str| format!("{q}{{inferbench_run_id=\"{run_id}\"}}");
    // New series become searchable within seconds.
    poll("the run's series", Duration::from_secs(60), || {
        let found = promql(query_url, &in_run("inferbench_accuracy_kl_divergence"));
        (found.len() == measured(&rows).len()).then_some(())
    });
    for (metric, column, factor) in FIGURES_VS_CSV {
        let series = promql(query_url, &in_run(metric));
        assert_eq!(series.len(), measured(&rows).len(), "{metric}: {series:?}");
        for row in measured(&rows) {
            let (labels, value) = series
                .iter()
                .find(|(l, _)| l["inferbench_case"] == row["case"])
                .unwrap_or_else(|| panic!("{metric} has no series for {}", row["case"]));
            let expected = num(row, column) * factor;
            assert!(
                same(*value, expected),
                "{metric} of {}: {value} vs results.csv {expected}",
                row["case"]
            );
            for (label, column) in [
                ("gen_ai_provider_name", "backend"),
                ("gen_ai_request_model", "model"),
                ("inferbench_device", "device"),
                ("inferbench_precision", "precision"),
                ("inferbench_batch", "batch"),
                ("inferbench_seq_len", "seq_len"),
                ("inferbench_threads", "threads"),
                ("inferbench_scenario", "scenario"),
            ] {
                assert_eq!(labels[label], row[column], "{metric} {label}");
            }
            assert_eq!(labels["gen_ai_operation_name"], "forward");
        }
    }
    for row in measured(&rows) {
        let case = &row["case"];
        let samples = samples_ns(&json, case);
        let selector = format!("{{inferbench_run_id=\"{run_id}\",inferbench_case=\"{case}\"}}");
        let count = promql(
            query_url,
            &format!("gen_ai_client_operation_duration_seconds_count{selector}"),
        );
        assert_eq!(count.len(), 1, "{count:?}");
        assert_eq!(count[0].1, num(row, "iterations"));
        assert_eq!(count[0].1 as usize, samples.len());
        let sum = promql(
            query_url,
            &format!("gen_ai_client_operation_duration_seconds_sum{selector}"),
        );
        let expected: f64 = samples.iter().map(|&ns| ns as f64 * 1e-9).sum();
        assert!(same(sum[0].1, expected), "sum {} vs {expected}", sum[0].1);
        // Every sample lies at or below the +Inf bucket, and the median
        // bucket bound is at least the fastest sample.
        let inf = promql(
            query_url,
            &format!(
                "gen_ai_client_operation_duration_seconds_bucket{{inferbench_run_id=\"{run_id}\",inferbench_case=\"{case}\",le=\"+Inf\"}}"
            ),
        );
        assert_eq!(inf[0].1, samples.len() as f64);
    }
    let cases = promql(
        query_url,
        &format!(
            "sum by (inferbench_case_status) ({})",
            in_run("inferbench_cases_total")
        ),
    );
    let by_status: BTreeMap<String, f64> = cases
        .into_iter()
        .map(|(l, v)| (l["inferbench_case_status"].clone(), v))
        .collect();
    let mut expected: BTreeMap<String, f64> = BTreeMap::new();
    for row in &rows {
        *expected.entry(row["status"].clone()).or_default() += 1.0;
    }
    assert!(expected["measured"] >= 2.0, "{expected:?}");
    assert_eq!(by_status, expected);
}

/// Every query of the Grafana dashboard's benchmark-run panels
/// (ci/grafana/inferbench.json, above its Live row, which tests/monitor.rs
/// checks), its variables set to "all", answers with data from the store.
fn assert_dashboard_queries_answer(query_url: &str) {
    let panels = support::dashboard::panels(false);
    assert!(panels.len() >= 8);
    for panel in &panels {
        for expr in support::dashboard::queries(panel, "1m") {
            let series = promql(query_url, &expr);
            assert!(
                !series.is_empty(),
                "panel {:?} finds nothing: {expr}",
                panel["title"]
            );
        }
    }
}

fn run_id(dir: &Path) -> String {
    dir.file_name().unwrap().to_str().unwrap().to_string()
}

#[test]
fn otlp_http_metrics_land_in_victoria_metrics_with_the_csv_figures() {
    let vm = VictoriaMetrics::start();
    let tmp = tempfile::tempdir().unwrap();
    let (dir, output) = run_tiny(
        tmp.path(),
        &["--otlp", &vm.otlp_base()],
        // VictoriaMetrics takes no traces; this test is about metrics.
        &[("OTEL_TRACES_EXPORTER", "none".into())],
    );
    let err = stderr(&output);
    assert!(!err.contains("warning: telemetry"), "{err}");
    assert!(err.contains("telemetry: sent to OTLP (HTTP)"), "{err}");
    assert_store_matches_run(&vm.query_url(), &dir, &run_id(&dir));
    assert_dashboard_queries_answer(&vm.query_url());
}

#[test]
fn otlp_over_tls_trusts_the_ca_named_by_ssl_cert_file() {
    let tmp = tempfile::tempdir().unwrap();
    let (ca, cert, key) = support::receivers::test_certificates(tmp.path());
    let tls_port = free_port();
    let vm = VictoriaMetrics::start_with(VictoriaMetricsOptions {
        tls: Some((tls_port, &cert, &key)),
        ..Default::default()
    });
    let endpoint = format!("https://127.0.0.1:{tls_port}/opentelemetry");
    // Without the CA the server is not trusted: one warning, results kept.
    let (dir, output) = run_tiny(
        tmp.path(),
        &["--otlp", &endpoint],
        &[("OTEL_TRACES_EXPORTER", "none".into())],
    );
    let err = stderr(&output);
    assert_eq!(
        err.matches("warning: telemetry not sent").count(),
        1,
        "{err}"
    );
    // With it, the stored run goes through.
    inferbench(tmp.path())
        .args(["export", dir.to_str().unwrap(), "--otlp", &endpoint])
        .env("OTEL_TRACES_EXPORTER", "none")
        .env("SSL_CERT_FILE", &ca)
        .assert()
        .success();
    let query = format!(
        "inferbench_latency_p99_seconds{{inferbench_run_id=\"{}\"}}",
        run_id(&dir)
    );
    let series = poll("metrics sent over TLS", Duration::from_secs(60), || {
        let s = promql(&vm.query_url(), &query);
        (s.len() == measured(&read_csv(&dir)).len()).then_some(s)
    });
    for row in measured(&read_csv(&dir)) {
        let (_, value) = series
            .iter()
            .find(|(l, _)| l["inferbench_case"] == row["case"])
            .unwrap();
        assert!(same(*value, num(row, "latency_p99_ms") * 1e-3));
    }
}

#[test]
fn otlp_headers_from_the_environment_reach_the_receiver() {
    let vm = VictoriaMetrics::start_with(VictoriaMetricsOptions {
        basic_auth: Some(("bench", "s3cret")),
        ..Default::default()
    });
    let tmp = tempfile::tempdir().unwrap();
    let metrics_only = ("OTEL_TRACES_EXPORTER", "none".to_string());
    // Without credentials the receiver refuses: one warning naming 401.
    let (dir, output) = run_tiny(
        tmp.path(),
        &["--otlp", &vm.otlp_base()],
        std::slice::from_ref(&metrics_only),
    );
    let err = stderr(&output);
    assert_eq!(
        err.matches("warning: telemetry not sent").count(),
        1,
        "{err}"
    );
    assert!(err.contains("401"), "{err}");
    // The specification's header list, values percent-encoded:
    // base64("bench:s3cret") = YmVuY2g6czNjcmV0.
    inferbench(tmp.path())
        .args(["export", dir.to_str().unwrap(), "--otlp", &vm.otlp_base()])
        .env(metrics_only.0, &metrics_only.1)
        .env(
            "OTEL_EXPORTER_OTLP_HEADERS",
            "Authorization=Basic%20YmVuY2g6czNjcmV0",
        )
        .assert()
        .success();
    let query = format!(
        "inferbench_cases_total{{inferbench_run_id=\"{}\"}}",
        run_id(&dir)
    );
    poll(
        "metrics sent with credentials",
        Duration::from_secs(60),
        || (promql(&vm.query_url(), &query).len() == 6).then_some(()),
    );
}

/// The spans of one trace as printed by rotel.
fn trace_of<'a>(spans: &'a [PrintedSpan], trace_id: &str) -> Vec<&'a PrintedSpan> {
    spans.iter().filter(|s| s.trace_id == trace_id).collect()
}

/// run → cases → phases, with real times and the case figures.
fn assert_span_tree(spans: &[&PrintedSpan], dir: &Path) {
    let rows = read_csv(dir);
    let roots: Vec<_> = spans.iter().filter(|s| s.parent_id.is_empty()).collect();
    assert_eq!(roots.len(), 1, "{roots:?}");
    let root = roots[0];
    assert_eq!(root.name, "inferbench.run tiny");
    assert_eq!(root.attributes["inferbench.run.id"], run_id(dir));
    assert_eq!(root.status, "STATUS_CODE_OK");
    let cases: Vec<_> = spans.iter().filter(|s| s.parent_id == root.id).collect();
    assert_eq!(cases.len(), 6);
    for row in &rows {
        let case = cases
            .iter()
            .find(|s| s.attributes.get("inferbench.case") == Some(&row["case"]))
            .unwrap_or_else(|| panic!("no span for {}", row["case"]));
        assert_eq!(case.name, format!("inferbench.case {}", row["case"]));
        assert_eq!(case.attributes["gen_ai.provider.name"], row["backend"]);
        assert_eq!(case.attributes["inferbench.precision"], row["precision"]);
        assert_eq!(case.attributes["inferbench.batch"], row["batch"]);
        assert_eq!(case.attributes["inferbench.case.status"], row["status"]);
        assert!(root.start_ns <= case.start_ns && case.end_ns <= root.end_ns);
        // Real wall-clock times: this decade, not the epoch.
        assert!(
            case.start_ns > 1_600_000_000_000_000_000,
            "{}",
            case.start_ns
        );
        let phases: Vec<_> = spans.iter().filter(|s| s.parent_id == case.id).collect();
        if row["status"] == "skipped" {
            assert!(phases.is_empty());
            assert_eq!(case.events, ["inferbench.case.skipped"]);
            assert!(
                case.event_attributes[0].contains("not compiled in"),
                "{:?}",
                case.event_attributes
            );
            continue;
        }
        assert_eq!(case.status, "STATUS_CODE_OK");
        for (key, column, factor) in CASE_FIGURES {
            let expected = num(row, column) * factor;
            assert!(
                same(case.number(key), expected),
                "{key}: {} vs {expected}",
                case.number(key)
            );
        }
        let names: Vec<&str> = phases.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "inferbench.load",
                "inferbench.warmup",
                "inferbench.measurement",
                "inferbench.accuracy"
            ]
        );
        let mut cursor = case.start_ns;
        for phase in &phases {
            assert!(phase.start_ns >= cursor && phase.end_ns >= phase.start_ns);
            assert!(
                phase.end_ns <= case.end_ns,
                "{} outlives its case",
                phase.name
            );
            cursor = phase.end_ns;
        }
        // The load phase lasts what results.csv says loading took.
        let load_ms = (phases[0].end_ns - phases[0].start_ns) as f64 * 1e-6;
        assert!((load_ms - num(row, "load_ms")).abs() < 1e-3, "{load_ms}");
        assert_eq!(
            phases[2].number("inferbench.iterations"),
            num(row, "iterations")
        );
    }
}

#[test]
fn traces_reach_rotel_over_http_and_grpc_as_a_span_tree() {
    let rotel = Rotel::start();
    let tmp = tempfile::tempdir().unwrap();
    // Live run: OTLP/HTTP traces through the signal-specific variable.
    let (dir, output) = run_tiny(
        tmp.path(),
        &[],
        &[
            (
                "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
                format!("http://127.0.0.1:{}/v1/traces", rotel.http_port),
            ),
            ("OTEL_SERVICE_NAME", "inferbench-ci".into()),
        ],
    );
    let err = stderr(&output);
    assert!(!err.contains("warning: telemetry"), "{err}");
    // 1 run span, 1 per case, 4 phases per measured case.
    let rows = read_csv(&dir);
    let n = 1 + rows.len() + 4 * measured(&rows).len();
    let spans = poll("the run's spans over HTTP", Duration::from_secs(30), || {
        let s = rotel.spans();
        (s.len() >= n).then_some(s)
    });
    assert_eq!(
        spans.len(),
        n,
        "1 run + {} cases + 4 phases per measured case",
        rows.len()
    );
    let trace_id = spans[0].trace_id.clone();
    assert_span_tree(&trace_of(&spans, &trace_id), &dir);
    assert!(
        rotel
            .receiver
            .output()
            .contains("service.name: Str(inferbench-ci)")
    );

    // Re-export of the stored run over gRPC, one case turned into an error
    // as a crashed backend would leave it.
    let mut json = read_json(&dir);
    let case = &mut json["cases"][0];
    case["status"] = "error".into();
    case["message"] = "the worker process ended with signal 9".into();
    fs::write(
        dir.join("results.json"),
        serde_json::to_vec_pretty(&json).unwrap(),
    )
    .unwrap();
    inferbench(tmp.path())
        .args(["export", dir.to_str().unwrap()])
        .args(["--otlp", &format!("http://127.0.0.1:{}", rotel.grpc_port)])
        .args(["--otlp-protocol", "grpc"])
        .env("OTEL_METRICS_EXPORTER", "none")
        .assert()
        .success();
    let spans = poll(
        "as many spans again over gRPC",
        Duration::from_secs(30),
        || {
            let s = rotel.spans();
            (s.len() >= 2 * n).then_some(s)
        },
    );
    let again = &spans[n..];
    // Same run, same trace: ids derive from the run id.
    assert!(again.iter().all(|s| s.trace_id == trace_id));
    let errored = again
        .iter()
        .find(|s| s.status == "STATUS_CODE_ERROR" && s.name.starts_with("inferbench.case "))
        .expect("the errored case");
    assert_eq!(
        errored.status_message,
        "the worker process ended with signal 9"
    );
    assert_eq!(errored.events, ["exception"]);
    let root = again.iter().find(|s| s.parent_id.is_empty()).unwrap();
    assert_eq!(root.status, "STATUS_CODE_ERROR");
}

#[test]
fn pushgateway_figures_are_scraped_by_prometheus() {
    let stack = PushgatewayStack::start();
    let tmp = tempfile::tempdir().unwrap();
    let (dir, output) = run_tiny(
        tmp.path(),
        &["--pushgateway", &stack.pushgateway_url()],
        &[],
    );
    let err = stderr(&output);
    assert!(err.contains("telemetry: sent to Pushgateway"), "{err}");
    // Prometheus scrapes every second; the pushed group carries the job.
    assert_store_matches_run(&stack.query_url(), &dir, &run_id(&dir));
    assert_dashboard_queries_answer(&stack.query_url());
    let job = promql(&stack.query_url(), "inferbench_latency_p50_seconds");
    assert!(
        job.iter()
            .all(|(l, _)| l["job"] == "inferbench" && l["scenario"] == "tiny")
    );
}

#[test]
fn tensorboard_reads_back_one_step_per_run() {
    let tmp = tempfile::tempdir().unwrap();
    let board = tmp.path().join("board");
    // Two runs into one folder: distinct run ids even within one second.
    let out = tmp.path().join("runs");
    for _ in 0..2 {
        tiny_command(
            tmp.path(),
            &out,
            &["--tensorboard", board.to_str().unwrap()],
            &[],
        )
        .assert()
        .success();
    }
    let mut dirs: Vec<PathBuf> = fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    // Run ids sort by start time; a same-second second run gets "-2".
    dirs.sort_by_key(|d| (d.to_str().unwrap().len(), d.clone()));
    assert_eq!(dirs.len(), 2);
    // Re-exporting the first run rewrites its own step, adds none.
    inferbench(tmp.path())
        .args(["export", dirs[0].to_str().unwrap(), "--tensorboard"])
        .arg(&board)
        .assert()
        .success();
    let reader = r#"
import json, sys
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
acc = EventAccumulator(sys.argv[1])
acc.Reload()
print(json.dumps({t: [[e.step, e.value] for e in acc.Scalars(t)] for t in acc.Tags()["scalars"]}))
"#;
    let out = std::process::Command::new(vendor_bin("python"))
        .args(["-c", reader, board.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let scalars: BTreeMap<String, Vec<(i64, f64)>> = serde_json::from_slice(&out.stdout).unwrap();
    for (step, dir) in [1, 2].into_iter().zip(&dirs) {
        for row in measured(&read_csv(dir)) {
            for (tag, column, factor) in CASE_FIGURES {
                let key = format!("{tag}/{}", row["case"]);
                let points = &scalars[&key];
                let at_step: Vec<f64> = points
                    .iter()
                    .filter(|(s, _)| *s == step)
                    .map(|(_, v)| *v)
                    .collect();
                let expected = num(row, column) * factor;
                // simple_value is a 32-bit float.
                assert!(
                    at_step.len() == 1
                        && (at_step[0] - expected).abs() <= 1e-6 * expected.abs() + 1e-12,
                    "{key} step {step}: {at_step:?} vs {expected}"
                );
            }
        }
    }
    let steps: Vec<i64> = scalars["inferbench.cases/skipped"]
        .iter()
        .map(|(s, _)| *s)
        .collect();
    assert_eq!(steps, [1, 2]);
}

/// Accepts connections and never answers: a receiver that hangs.
fn black_hole() -> (u16, std::thread::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let handle = std::thread::spawn(move || {
        let mut held = Vec::new();
        let started = Instant::now();
        listener.set_nonblocking(true).unwrap();
        while started.elapsed() < Duration::from_secs(60) {
            if let Ok((stream, _)) = listener.accept() {
                held.push(stream);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    });
    (port, handle)
}

#[test]
fn receivers_down_or_hung_cost_bounded_time_and_one_warning_each() {
    let tmp = tempfile::tempdir().unwrap();
    let closed = free_port();
    let started = Instant::now();
    let (dir, output) = run_tiny(
        tmp.path(),
        &[
            "--otlp",
            &format!("http://127.0.0.1:{closed}"),
            "--pushgateway",
            &format!("http://127.0.0.1:{closed}"),
        ],
        &[],
    );
    let elapsed = started.elapsed();
    let err = stderr(&output);
    let warnings: Vec<&str> = err
        .lines()
        .filter(|l| l.starts_with("warning: telemetry"))
        .collect();
    assert_eq!(warnings.len(), 2, "one per receiver: {err}");
    assert!(warnings[0].contains("OTLP (HTTP)") && warnings[0].contains("inferbench export"));
    assert!(warnings[1].contains("Pushgateway") && warnings[1].contains("Connection refused"));
    // Refused connections fail fast; the run itself takes a second or two.
    assert!(elapsed < Duration::from_secs(30), "{elapsed:?}");
    let rows = read_csv(&dir);
    assert_eq!(rows.len(), 6);
    assert!(read_json(&dir)["finished_at"].is_string());

    // A receiver that accepts and never answers: the export gives up at
    // its timeout (1 s here) plus the bounded retries.
    let (port, _hole) = black_hole();
    let started = Instant::now();
    let output = inferbench(tmp.path())
        .args(["export", dir.to_str().unwrap()])
        .args(["--otlp", &format!("http://127.0.0.1:{port}")])
        .env("OTEL_EXPORTER_OTLP_TIMEOUT", "1000")
        .output()
        .unwrap();
    let elapsed = started.elapsed();
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let err = stderr(&output);
    assert_eq!(err.matches("warning: telemetry").count(), 1, "{err}");
    assert!(elapsed < Duration::from_secs(15), "{elapsed:?}");
}

#[test]
fn telemetry_settings_that_cannot_work_stop_the_run_before_measuring() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("runs");
    let run = |args: &[&str], env: &[(&str, String)]| {
        tiny_command(tmp.path(), &out, args, env).output().unwrap()
    };
    let no_scheme = run(
        &["--otlp", "localhost:4317", "--otlp-protocol", "grpc"],
        &[],
    );
    assert_eq!(no_scheme.status.code(), Some(2));
    assert!(
        stderr(&no_scheme).contains("http://localhost:4317"),
        "{}",
        stderr(&no_scheme)
    );
    let json = run(
        &[],
        &[
            (
                "OTEL_EXPORTER_OTLP_ENDPOINT",
                "http://localhost:4318".into(),
            ),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json".into()),
        ],
    );
    assert_eq!(json.status.code(), Some(2));
    assert!(
        stderr(&json).contains("OTEL_EXPORTER_OTLP_PROTOCOL"),
        "{}",
        stderr(&json)
    );
    // Nothing was measured or written.
    assert!(!out.exists());
    // The SDK-wide switch wins over an endpoint.
    let disabled = run(
        &["--otlp", "http://127.0.0.1:1"],
        &[("OTEL_SDK_DISABLED", "true".into())],
    );
    assert!(disabled.status.success());
    assert!(
        !stderr(&disabled).contains("telemetry"),
        "{}",
        stderr(&disabled)
    );
    // `export` without any sink says what to give it.
    let nothing = inferbench(tmp.path())
        .args(["export", tmp.path().to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(nothing.status.code(), Some(2));
    assert!(stderr(&nothing).contains("--otlp, --pushgateway or --tensorboard"));
}

#[test]
fn generation_ttft_and_tpot_histograms_land_in_victoria_metrics() {
    let vm = VictoriaMetrics::start();
    let tmp = tempfile::tempdir().unwrap();
    let scenario = tmp.path().join("gen.toml");
    fs::write(
        &scenario,
        "backends = 'candle'\nthreads = 1\n[model]\nvocab_size = 64\nhidden = 32\nlayers = 1\nheads = 2\nmax_seq = 16\n\
         [generation]\nprompt_len = 4\ngen_len = 4\nrequests = 3\n",
    )
    .unwrap();
    let out = tmp.path().join("runs");
    let output = inferbench(tmp.path())
        .args([
            "run",
            scenario.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--otlp",
            &vm.otlp_base(),
        ])
        .env("OTEL_TRACES_EXPORTER", "none")
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    let dir = fs::read_dir(&out).unwrap().next().unwrap().unwrap().path();
    let json = read_json(&dir);
    let g = &json["cases"][0]["generation"];
    let run = run_id(&dir);
    for (metric, samples) in [
        (
            "gen_ai_server_time_to_first_token_seconds",
            &g["ttft_samples_ns"],
        ),
        (
            "gen_ai_server_time_per_output_token_seconds",
            &g["tpot_samples_ns"],
        ),
    ] {
        let samples: Vec<f64> = samples
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap() * 1e-9)
            .collect();
        assert_eq!(samples.len(), 3, "{metric}");
        let query = format!(
            "{metric}_count{{inferbench_run_id=\"{run}\",gen_ai_operation_name=\"text_completion\"}}"
        );
        let count = poll(&query, Duration::from_secs(30), || {
            promql(&vm.query_url(), &query).first().map(|s| s.1)
        });
        assert_eq!(count, 3.0, "{metric}");
        let query = format!("{metric}_sum{{inferbench_run_id=\"{run}\"}}");
        let sum = poll(&query, Duration::from_secs(30), || {
            promql(&vm.query_url(), &query).first().map(|s| s.1)
        });
        assert!(
            same(sum, samples.iter().sum()),
            "{metric}: {sum} vs {samples:?}"
        );
    }
}
