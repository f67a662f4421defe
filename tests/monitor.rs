//! `inferbench monitor` against real parts: the real binary probing a real
//! llama.cpp `llama-server` and an in-process candle model, scraped by a
//! real Prometheus (Debian's) loaded with the shipped rules, whose alerts
//! must fire when the server stops; the rules unit-tested by promtool;
//! faults (a stalled endpoint, a refused one, a port in use, concurrent
//! scrapes) and SIGTERM. A trivial SSE endpoint (the client's measuring
//! instrument) drives the memory test at 1,000 probes/s.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use support::llama_server::{Server, llama_server};
use support::receivers::{
    Prometheus, Rotel, VictoriaMetrics, free_port, http, poll, promql, vendor_bin,
};
use support::repo_root;

mod support;

/// A running `inferbench monitor`, killed on drop if still running.
struct Monitor {
    child: Child,
    /// host:port of its /metrics.
    addr: String,
    stderr: Arc<Mutex<String>>,
}

impl Monitor {
    /// Starts `inferbench monitor SCENARIO --listen 127.0.0.1:0 ARGS` and
    /// waits (up to `limit`) for the line that says where it listens.
    fn start(scenario: &Path, args: &[&str], env: &[(&str, String)], limit: Duration) -> Monitor {
        let mut command = Command::new(assert_cmd::cargo::cargo_bin("inferbench"));
        command
            .arg("monitor")
            .arg(scenario)
            .args(["--listen", "127.0.0.1:0"])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        for (k, v) in env {
            command.env(k, v);
        }
        let mut child = command.spawn().unwrap();
        let stderr = Arc::new(Mutex::new(String::new()));
        let (addr_tx, addr_rx) = mpsc::channel();
        let (pipe, text) = (child.stderr.take().unwrap(), stderr.clone());
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                if let Some((_, rest)) = line.split_once("metrics at http://") {
                    let _ = addr_tx.send(rest.trim_end_matches("/metrics").to_string());
                }
                text.lock().unwrap().push_str(&(line + "\n"));
            }
        });
        let Ok(addr) = addr_rx.recv_timeout(limit) else {
            let _ = child.kill();
            panic!("the monitor did not start: {}", stderr.lock().unwrap());
        };
        Monitor {
            child,
            addr,
            stderr,
        }
    }

    fn metrics(&self) -> String {
        let url = format!("http://{}/metrics", self.addr);
        http().get(url).send().unwrap().text().unwrap()
    }

    fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// SIGTERM; the exit status and how long it took.
    fn terminate(mut self) -> (ExitStatus, Duration, String) {
        let t = Instant::now();
        // SAFETY: kill(2) on our own child's pid.
        unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM) };
        let status = self.child.wait().unwrap();
        let took = t.elapsed();
        // The stderr thread ends with the pipe.
        std::thread::sleep(Duration::from_millis(50));
        (status, took, self.stderr())
    }
}

impl Drop for Monitor {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The sum of the samples of `name` whose labels contain every `filter`
/// (`key="value"`), in an exposition's text.
fn sample(text: &str, name: &str, filters: &[&str]) -> f64 {
    text.lines()
        .filter(|l| l.starts_with(&format!("{name}{{")) || l.starts_with(&format!("{name} ")))
        .filter(|l| filters.iter().all(|f| l.contains(f)))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// SIGTERM ends the monitor with exit 0 within 2 s, saying so; returns
/// the probes it says it made.
fn assert_stops_on_sigterm(monitor: Monitor) -> f64 {
    let (status, took, stderr) = monitor.terminate();
    assert!(status.success(), "{status}: {stderr}");
    assert!(took < Duration::from_secs(2), "{took:?}: {stderr}");
    assert!(stderr.contains("monitor: stopped (SIGTERM)"), "{stderr}");
    let after = stderr.split(" after ").nth(1).unwrap_or_default();
    after
        .split(' ')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no probe count in {stderr}"))
}

#[test]
fn promtool_checks_and_unit_tests_the_rules() {
    // Debian's promtool sits beside its prometheus (ci/setup.sh links it).
    let prometheus = std::fs::canonicalize(vendor_bin("prometheus")).unwrap();
    let promtool = prometheus.with_file_name("promtool");
    let folder = repo_root().join("ci/prometheus");
    for args in [
        ["check", "rules", "inferbench-rules.yml"],
        ["test", "rules", "inferbench-rules.test.yml"],
        // The configuration of the one-liner in scenarios/monitor.toml.
        ["check", "config", "prometheus.yml"],
    ] {
        let out = Command::new(&promtool)
            .args(args)
            .current_dir(&folder)
            .output()
            .unwrap_or_else(|e| panic!("{}: {e}", promtool.display()));
        let text = String::from_utf8_lossy(&out.stdout).to_string()
            + &String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "promtool {args:?}: {text}");
        assert!(text.contains("SUCCESS"), "{text}");
    }
}

const TINY_GPT: &str = "name = \"monitor-in-process\"\nbackends = \"candle\"\nthreads = 1\n\
    [model]\nvocab_size = 64\nhidden = 32\nlayers = 1\nheads = 2\nmax_seq = 32\n\
    [generation]\nprompt_len = 4\ngen_len = 4\n[slo]\nttft_ms = 1000\n[monitor]\nrate = 20\n";

#[test]
fn an_in_process_model_is_probed_warm_and_sigterm_stops_it_within_2s() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = write(dir.path(), "s.toml", TINY_GPT);
    let cache = dir.path().join("cache");
    let monitor = Monitor::start(
        &scenario,
        &[],
        &[("INFERBENCH_CACHE_DIR", cache.display().to_string())],
        Duration::from_secs(60),
    );
    let text = poll("20 answered probes", Duration::from_secs(30), || {
        let text = monitor.metrics();
        (sample(
            &text,
            "gen_ai_server_time_to_first_token_seconds_count",
            &[],
        ) >= 20.0)
            .then_some(text)
    });
    let case = "inferbench_case=\"gpt-v64-h32-l1/candle/cpu/f32/b1/p4g4/th1/single_stream\"";
    assert_eq!(sample(&text, "inferbench_probe_up", &[case]), 1.0, "{text}");
    assert_eq!(sample(&text, "inferbench_probe_errors_total", &[]), 0.0);
    let answered = sample(
        &text,
        "gen_ai_client_operation_duration_seconds_count",
        &[case],
    );
    let output = sample(
        &text,
        "inferbench_probe_tokens_total",
        &["gen_ai_token_type=\"output\""],
    );
    assert_eq!(output, 4.0 * answered, "4 tokens a probe: {text}");
    // A warm model answers a probe in well under the SLO: no load per probe.
    let ttft_sum = sample(&text, "gen_ai_server_time_to_first_token_seconds_sum", &[]);
    let ttft_count = sample(
        &text,
        "gen_ai_server_time_to_first_token_seconds_count",
        &[],
    );
    assert!(ttft_sum / ttft_count < 0.1, "{text}");
    assert_eq!(sample(&text, "inferbench_slo_ttft_seconds", &[case]), 1.0);
    assert!(text.ends_with("# EOF\n"), "OpenMetrics text: {text}");
    assert_stops_on_sigterm(monitor);
}

/// What both outputs carry for the in-process probes, by Prometheus name.
const PUSHED: [&str; 8] = [
    "inferbench_probe_requests_total",
    "inferbench_probe_tokens_total",
    "inferbench_probe_up",
    "inferbench_slo_ttft_seconds",
    "gen_ai_client_operation_duration_seconds_count",
    "gen_ai_server_time_to_first_token_seconds_count",
    "gen_ai_server_time_per_output_token_seconds_count",
    "inferbench_generation_inter_token_latency_seconds_count",
];

#[test]
fn otlp_pushes_the_same_metrics_and_a_span_per_probe() {
    let (vm, rotel) = (VictoriaMetrics::start(), Rotel::start());
    let dir = tempfile::tempdir().unwrap();
    let scenario = write(dir.path(), "s.toml", TINY_GPT);
    let env = [
        (
            "INFERBENCH_CACHE_DIR",
            dir.path().join("cache").display().to_string(),
        ),
        (
            "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
            format!("{}/v1/metrics", vm.otlp_base()),
        ),
        (
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
            format!("http://127.0.0.1:{}/v1/traces", rotel.http_port),
        ),
    ];
    let monitor = Monitor::start(
        &scenario,
        &["--otlp-interval", "1"],
        &env,
        Duration::from_secs(60),
    );
    let url = vm.query_url();
    poll("10 probes pushed", Duration::from_secs(30), || {
        (first_value(&url, "sum(inferbench_probe_requests_total)") >= 10.0).then_some(())
    });
    let text = monitor.metrics();
    for name in PUSHED {
        assert!(sample(&text, name, &[]) > 0.0, "{name} in /metrics: {text}");
        let pushed = poll(name, Duration::from_secs(10), || {
            let v = first_value(&url, &format!("count({name})"));
            (v >= 1.0).then_some(v)
        });
        assert!(pushed >= 1.0);
    }
    let spans = poll("10 probe spans", Duration::from_secs(30), || {
        let spans: Vec<_> = rotel
            .spans()
            .into_iter()
            .filter(|s| s.name == "text_completion gpt-v64-h32-l1")
            .collect();
        (spans.len() >= 10).then_some(spans)
    });
    for span in &spans {
        assert_eq!(span.number("gen_ai.usage.output_tokens"), 4.0, "{span:?}");
        assert!(span.end_ns > span.start_ns, "{span:?}");
        assert!(
            span.attributes["inferbench.case"].contains("candle"),
            "{span:?}"
        );
    }
    // The stop flushes: the receiver gets the final count.
    let probes = assert_stops_on_sigterm(monitor);
    let total = "sum(inferbench_probe_requests_total)";
    poll("the flushed count", Duration::from_secs(10), || {
        (first_value(&url, total) == probes).then_some(())
    });
}

#[test]
fn spans_go_over_grpc_too() {
    let rotel = Rotel::start();
    let dir = tempfile::tempdir().unwrap();
    let scenario = write(dir.path(), "s.toml", TINY_GPT);
    let env = [
        (
            "INFERBENCH_CACHE_DIR",
            dir.path().join("cache").display().to_string(),
        ),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc".into()),
        (
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
            format!("http://127.0.0.1:{}", rotel.grpc_port),
        ),
    ];
    let monitor = Monitor::start(&scenario, &[], &env, Duration::from_secs(60));
    poll("5 probe spans over gRPC", Duration::from_secs(30), || {
        let n = rotel
            .spans()
            .iter()
            .filter(|s| s.name == "text_completion gpt-v64-h32-l1")
            .count();
        (n >= 5).then_some(())
    });
    assert_stops_on_sigterm(monitor);
}

#[test]
fn a_port_in_use_is_a_clear_error_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = write(dir.path(), "s.toml", TINY_GPT);
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let t = Instant::now();
    let out = Command::new(assert_cmd::cargo::cargo_bin("inferbench"))
        .args(["monitor", scenario.to_str().unwrap(), "--listen", &addr])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(t.elapsed() < Duration::from_secs(5));
    assert!(
        stderr.contains(&format!("cannot listen on {addr}")) && stderr.contains("--listen"),
        "{stderr}"
    );
}

#[test]
fn stalled_and_refused_endpoints_count_errors_and_scrapes_keep_answering() {
    let dir = tempfile::tempdir().unwrap();
    // Accepts connections (the kernel's backlog) and never answers.
    let stalled = TcpListener::bind("127.0.0.1:0").unwrap();
    let stalled_port = stalled.local_addr().unwrap().port();
    let refused_port = free_port();
    let text = format!(
        "name = \"faults\"\nbackends = \"openai\"\n[inputs]\nprompt = \"hi\"\n\
         [generation]\ngen_len = 4\n[monitor]\nrate = 20\nmax_in_flight = 4\n\
         [[cases]]\n[cases.endpoint]\nurl = \"http://127.0.0.1:{stalled_port}/v1\"\n\
         model = \"stalled\"\ntimeout_s = 0.3\n\
         [[cases]]\n[cases.endpoint]\nurl = \"http://127.0.0.1:{refused_port}/v1\"\n\
         model = \"refused\"\n"
    );
    let scenario = write(dir.path(), "faults.toml", &text);
    let monitor = Monitor::start(&scenario, &[], &[], Duration::from_secs(30));
    let errors = |text: &str, model: &str, class: &str| {
        let model = format!("gen_ai_request_model=\"{model}\"");
        let class = format!("error_type=\"{class}\"");
        sample(text, "inferbench_probe_errors_total", &[&model, &class])
    };
    let text = poll("every kind of failure", Duration::from_secs(30), || {
        let t = monitor.metrics();
        (errors(&t, "stalled", "timeout") >= 2.0
            && errors(&t, "stalled", "backlog") >= 2.0
            && errors(&t, "refused", "connection_refused") >= 10.0)
            .then_some(t)
    });
    for model in ["stalled", "refused"] {
        let m = format!("gen_ai_request_model=\"{model}\"");
        assert_eq!(sample(&text, "inferbench_probe_up", &[&m]), 0.0, "{text}");
    }
    // Scrapes from 8 threads at once while probes fail: every one answers.
    let addr = monitor.addr.clone();
    let scrapers: Vec<_> = (0..8)
        .map(|_| {
            let url = format!("http://{addr}/metrics");
            std::thread::spawn(move || {
                (0..25).all(|_| {
                    http().get(&url).send().is_ok_and(|r| {
                        r.status().is_success() && r.text().unwrap().ends_with("# EOF\n")
                    })
                })
            })
        })
        .collect();
    assert!(scrapers.into_iter().all(|s| s.join().unwrap()));
    assert_stops_on_sigterm(monitor);
    drop(stalled);
}

/// The shipped rules with `for:` shortened, so alerts fire within seconds.
fn test_rules() -> String {
    let shipped =
        std::fs::read_to_string(repo_root().join("ci/prometheus/inferbench-rules.yml")).unwrap();
    let short = shipped
        .replace("for: 5m", "for: 3s")
        .replace("for: 2m", "for: 3s");
    let fors: Vec<&str> = short
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("for:"))
        .collect();
    assert!(
        fors.len() >= 5 && fors.iter().all(|l| *l == "for: 3s"),
        "{fors:?}"
    );
    short
}

fn prometheus_scraping(addr: &str) -> Prometheus {
    let config = format!(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nrule_files: [rules.yml]\n\
         scrape_configs:\n  - job_name: inferbench\n    static_configs:\n      - targets: ['{addr}']\n"
    );
    Prometheus::start(&config, &[("rules.yml", &test_rules())])
}

/// Every query of the dashboard's Live row answers from Prometheus.
fn assert_live_panels_answer(query_url: &str) {
    let panels = support::dashboard::panels(true);
    assert!(panels.len() >= 6, "{}", panels.len());
    for panel in &panels {
        for expr in support::dashboard::queries(panel, "30s") {
            let series = poll(
                &format!("{}: {expr}", panel["title"]),
                Duration::from_secs(20),
                || {
                    let s = promql(query_url, &expr);
                    (!s.is_empty()).then_some(s)
                },
            );
            assert!(
                series.iter().all(|(_, v)| v.is_finite()),
                "{expr}: {series:?}"
            );
        }
    }
}

fn first_value(url: &str, query: &str) -> f64 {
    promql(url, query).first().map_or(f64::NAN, |(_, v)| *v)
}

/// The query's first value once it has one (a rate needs two scrapes, a
/// recording rule an evaluation).
fn settled(url: &str, query: &str) -> f64 {
    poll(query, Duration::from_secs(20), || {
        Some(first_value(url, query)).filter(|v| v.is_finite())
    })
}

/// Expected series for a monitor of SmolLM2 at 2 probes/s, 8 tokens each.
fn assert_expected_series(url: &str) {
    let sel = "{inferbench_case=~\"smollm2-135m/openai/.*\"}";
    // Ten seconds of scrapes, for the rates over 10 s.
    let scrapes = format!("count_over_time(inferbench_probe_requests_total{sel}[10s])");
    poll(
        "10 s of scrapes in Prometheus",
        Duration::from_secs(60),
        || (first_value(url, &scrapes) >= 9.0).then_some(()),
    );
    let rate = settled(
        url,
        &format!("sum(rate(inferbench_probe_requests_total{sel}[10s]))"),
    );
    assert!((1.0..4.0).contains(&rate), "probes/s {rate}");
    let p99 = settled(url, "inferbench:ttft_seconds:p99_5m");
    assert!(p99 > 0.0 && p99 < 2.0, "p99 TTFT {p99}");
    // SmolLM2 decodes ~60-150 tokens/s here, one token per chunk; a CI
    // machine busy with other builds measured 18, so the floor only says
    // the rule yields a real positive rate.
    let speed = settled(url, "inferbench:decode_tokens_per_second:mean5m");
    assert!(speed > 1.0 && speed < 2000.0, "decode speed {speed}");
    let tokens = settled(
        url,
        "sum(inferbench_probe_tokens_total{gen_ai_token_type=\"output\"}) / sum(gen_ai_client_operation_duration_seconds_count)",
    );
    assert_eq!(tokens, 8.0, "output tokens per answered probe");
    assert_eq!(settled(url, "min(inferbench_probe_up)"), 1.0);
    // Greedy at temperature 0: the served Q4_1 text against the f64
    // reference's continuation of the same raw prompt.
    let rouge = settled(url, "max(inferbench_probe_agreement_rouge_l)");
    assert!((0.0..=1.0).contains(&rouge), "ROUGE-L {rouge}");
    assert_eq!(settled(url, "count(inferbench_slo_ttft_seconds == 2)"), 1.0);
}

fn llama_scenario(dir: &Path, url: &str) -> PathBuf {
    let gguf = repo_root().join("vendor/models/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf");
    let text = format!(
        "name = \"monitor-llama\"\nbackends = \"openai\"\n\
         [model]\nname = \"smollm2-135m\"\ngguf = \"{}\"\n\
         [endpoint]\nurl = \"{url}\"\napi = \"completions\"\ntimeout_s = 5\n\
         [inputs]\nprompt = \"The three primary colors are\"\n\
         [generation]\ngen_len = 8\n[slo]\nttft_ms = 2000\n[monitor]\nrate = 2\n",
        gguf.display()
    );
    write(dir, "monitor.toml", &text)
}

#[test]
fn prometheus_scrapes_a_monitor_of_llama_server_and_alerts_when_it_stops() {
    let Some(binary) = llama_server() else { return };
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("server.log");
    let server = Server::start(&binary, &log, &["-c", "512"]);
    let port = server.port;
    let scenario = llama_scenario(dir.path(), &server.url());
    // The shared model cache: the GGUF's conversion and the reference's
    // continuation are made once per machine.
    let monitor = Monitor::start(&scenario, &[], &[], Duration::from_secs(600));
    let prometheus = prometheus_scraping(&monitor.addr);
    let url = prometheus.query_url();
    assert_expected_series(&url);
    assert_live_panels_answer(&url);
    assert!(prometheus.alerts().is_empty(), "{:?}", prometheus.alerts());
    // The server stops: probes fail, and the alerts fire.
    drop(server);
    let wanted = ["InferbenchProbeDown", "InferbenchErrorRateHigh"];
    poll("the alerts firing", Duration::from_secs(60), || {
        let alerts = prometheus.alerts();
        wanted
            .iter()
            .all(|w| alerts.iter().any(|(n, s)| n == w && s == "firing"))
            .then_some(())
    });
    let text = monitor.metrics();
    assert!(
        sample(
            &text,
            "inferbench_probe_errors_total",
            &["connection_refused"]
        ) >= 2.0
    );
    // It comes back where it was: probes answer again.
    let _server = Server::start_on(&binary, &log, &["-c", "512"], port);
    let before = sample(
        &monitor.metrics(),
        "gen_ai_client_operation_duration_seconds_count",
        &[],
    );
    poll("probes answered again", Duration::from_secs(30), || {
        let t = monitor.metrics();
        let answered = sample(&t, "gen_ai_client_operation_duration_seconds_count", &[]);
        (answered > before + 2.0 && sample(&t, "inferbench_probe_up", &[]) == 1.0).then_some(())
    });
    assert_stops_on_sigterm(monitor);
}

#[test]
fn a_checkpoint_in_process_is_scored_against_its_reference() {
    // SmolLM2 on candle f32, loaded once; its greedy answers against the
    // f64 reference's continuation of the same prompt (the shared model
    // cache holds both after the first run).
    let dir = tempfile::tempdir().unwrap();
    let gguf = repo_root().join("vendor/models/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf");
    let text = format!(
        "name = \"monitor-smollm2\"\nbackends = \"candle\"\nthreads = 1\n\
         [model]\nname = \"smollm2-135m\"\ngguf = \"{}\"\n\
         [inputs]\nprompt = \"The three primary colors are\"\n\
         [generation]\ngen_len = 4\n[monitor]\nrate = 4\n",
        gguf.display()
    );
    let scenario = write(dir.path(), "smollm2.toml", &text);
    let monitor = Monitor::start(&scenario, &[], &[], Duration::from_secs(600));
    let text = poll("3 answered probes", Duration::from_secs(60), || {
        let t = monitor.metrics();
        (sample(&t, "gen_ai_client_operation_duration_seconds_count", &[]) >= 3.0).then_some(t)
    });
    assert_eq!(
        sample(&text, "inferbench_probe_errors_total", &[]),
        0.0,
        "{text}"
    );
    // f32 and f64 choose the same 4 greedy tokens.
    assert_eq!(
        sample(&text, "inferbench_probe_agreement_prefix", &[]),
        1.0,
        "{text}"
    );
    assert_eq!(
        sample(&text, "inferbench_probe_agreement_rouge_l", &[]),
        1.0,
        "{text}"
    );
    assert_stops_on_sigterm(monitor);
}

/// Resident set size of a process, bytes.
fn rss_bytes(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    let kib: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kib * 1024
}

#[test]
#[ignore = "2 minutes at 1,000 probes/s: run with --ignored"]
fn memory_stays_flat_at_1000_probes_per_second_for_2_minutes() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let sse = runtime
        .block_on(inferbench_openai::instrument::serve_trivial_sse(0, 16))
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "name = \"rss\"\nbackends = \"openai\"\n[endpoint]\nurl = \"http://{sse}/v1\"\n\
         model = \"trivial\"\n[inputs]\nprompt = \"hi\"\n[generation]\ngen_len = 16\n\
         [monitor]\nrate = 1000\nmax_in_flight = 64\n"
    );
    let scenario = write(dir.path(), "rss.toml", &text);
    let monitor = Monitor::start(&scenario, &[], &[], Duration::from_secs(30));
    let pid = monitor.child.id();
    let started = Instant::now();
    let mut samples = Vec::new();
    while started.elapsed() < Duration::from_secs(130) {
        std::thread::sleep(Duration::from_secs(1));
        samples.push((started.elapsed().as_secs_f64(), rss_bytes(pid)));
    }
    let text = monitor.metrics();
    let probes = sample(&text, "inferbench_probe_requests_total", &[]);
    let errors = sample(&text, "inferbench_probe_errors_total", &[]);
    for line in text
        .lines()
        .filter(|l| l.starts_with("inferbench_probe_errors_total"))
    {
        eprintln!("{}", &line[line.find("error_type").unwrap_or(0)..]);
    }
    let every_10s: Vec<String> = samples
        .iter()
        .step_by(10)
        .map(|(t, r)| format!("{t:.0} s {:.1}", *r as f64 / 1048576.0))
        .collect();
    eprintln!("rss MiB: {}", every_10s.join(", "));
    let rate = probes / started.elapsed().as_secs_f64();
    let at_10s = samples.iter().find(|(t, _)| *t >= 10.0).unwrap().1 as f64;
    let max = samples
        .iter()
        .filter(|(t, _)| *t >= 10.0)
        .map(|(_, r)| *r)
        .max()
        .unwrap() as f64;
    let last = samples.last().unwrap().1 as f64;
    let mib = |b: f64| b / (1024.0 * 1024.0);
    eprintln!(
        "rss: {:.1} MiB at 10 s, max {:.1} MiB, last {:.1} MiB ({:+.1}%); {probes} probes \
         ({rate:.0}/s), {errors} failed",
        mib(at_10s),
        mib(max),
        mib(last),
        100.0 * (max / at_10s - 1.0)
    );
    assert!(rate >= 950.0, "{rate} probes/s");
    // Failures here are `backlog`: 64 probes unanswered when a busy
    // machine stalls the client or the endpoint for 64 ms.
    assert!(errors / probes < 0.05, "{errors} of {probes} failed");
    assert!(max <= 1.10 * at_10s, "RSS grew from {at_10s} to {max}");
    // Per probe from 30 s on, when the allocator and the connection pool
    // have warmed: a leak of 100 bytes a probe would add ~9 MiB here.
    let at_30s = samples.iter().find(|(t, _)| *t >= 30.0).unwrap().1 as f64;
    let per_probe = (last - at_30s) / (rate * (samples.last().unwrap().0 - 30.0));
    eprintln!("rss: {per_probe:+.2} bytes a probe from 30 s on");
    assert!(per_probe < 10.0, "{per_probe} bytes a probe");
    assert_stops_on_sigterm(monitor);
}
