//! The `openai` backend against a real OpenAI-compatible server: llama.cpp's
//! own `llama-server` (built by `ci/setup.sh` into vendor/llama.cpp) serving
//! the SmolLM2 GGUF on a free loopback port, driven by the real `inferbench`
//! binary. Never a mock: the client's parsing, timing and error classes are
//! checked against what a real server sends.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use support::llama_server::{Server, llama_server};
use support::receivers::free_port;
use support::repo_root;

mod support;

/// Runs a scenario text; returns the run folder and whether it exited 0.
fn run(dir: &Path, name: &str, text: &str, env: &[(&str, &str)]) -> (PathBuf, bool) {
    let path = dir.join(format!("{name}.toml"));
    fs::write(&path, text).unwrap();
    let out = dir.join(format!("runs-{name}"));
    let mut cmd = Command::cargo_bin("inferbench").unwrap();
    cmd.env("INFERBENCH_CACHE_DIR", dir.join("cache"));
    for (k, v) in env {
        cmd.env(k, v);
    }
    let output = cmd
        .args([
            "run",
            path.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    let folder = fs::read_dir(&out)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&output.stderr)))
        .map(|e| e.unwrap().path())
        .next()
        .unwrap();
    (folder, output.status.success())
}

type Row = HashMap<String, String>;

fn rows(folder: &Path) -> Vec<Row> {
    support::read_csv(&folder.join("results.csv"))
}

fn num(row: &Row, col: &str) -> f64 {
    row[col]
        .parse()
        .unwrap_or_else(|_| panic!("{col} = {:?} in {row:?}", row[col]))
}

fn cases(folder: &Path) -> Vec<serde_json::Value> {
    let json: serde_json::Value =
        serde_json::from_slice(&fs::read(folder.join("results.json")).unwrap()).unwrap();
    json["cases"].as_array().unwrap().clone()
}

fn row<'a>(rows: &'a [Row], id_part: &str) -> &'a Row {
    rows.iter()
        .find(|r| r["case"].contains(id_part))
        .unwrap_or_else(|| {
            panic!(
                "no case {id_part} in {:?}",
                rows.iter().map(|r| &r["case"]).collect::<Vec<_>>()
            )
        })
}

const PROMPT: &str = "The three primary colors are";

#[test]
fn every_pattern_streams_ttft_itl_and_counts_tokens_from_usage() {
    let Some(binary) = llama_server() else { return };
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(
        &binary,
        &dir.path().join("server.log"),
        &["-c", "512", "-np", "2"],
    );
    let scenario = format!(
        "backends = 'openai'\n[endpoint]\nurl = '{}'\napi = 'completions'\n\
         [inputs]\nprompt = '{PROMPT}'\n\
         [generation]\ngen_len = 12\nrequests = 6\n\
         pattern = ['single_stream', 'offline', 'concurrency', 'server']\n\
         concurrency = [1, 3]\nrate = [6.0]\nburstiness = 0.5\n",
        server.url()
    );
    let (folder, ok) = run(dir.path(), "patterns", &scenario, &[]);
    let all = rows(&folder);
    assert!(ok, "{all:?}");
    assert_eq!(all.len(), 5, "single, offline, concurrency x2, server");
    for r in &all {
        assert_eq!(
            (r["status"].as_str(), r["backend"].as_str()),
            ("measured", "openai"),
            "{r:?}"
        );
        // ignore_eos (the default) makes every request give gen_len tokens,
        // counted by the server's usage.
        assert_eq!(r["token_counts"], "usage", "{r:?}");
        assert_eq!(
            (num(r, "errors"), num(r, "short_requests")),
            (0.0, 0.0),
            "{r:?}"
        );
        let (ttft, e2e) = (num(r, "ttft_p50_ms"), num(r, "e2e_p50_ms"));
        assert!(ttft > 0.0 && ttft < e2e, "TTFT at the first chunk: {r:?}");
        assert!(
            num(r, "itl_p50_ms") > 0.0 && num(r, "tpot_p50_ms") > 0.0,
            "{r:?}"
        );
        assert!(num(r, "client_cpu_us_per_request") > 0.0, "{r:?}");
        assert!(num(r, "output_tokens_per_s") > 0.0);
    }
    for case in cases(&folder) {
        let g = &case["generation"];
        assert_eq!(g["output_tokens"].as_u64(), Some(6 * 12), "{g}");
        // One streamed chunk per token: 11 gaps per request.
        assert_eq!(g["requests"].as_u64(), Some(6));
        assert_eq!(case["samples_ns"].as_array().unwrap().len(), 6);
        assert!(!g["generated_text"].as_str().unwrap().is_empty(), "{g}");
        assert_eq!(g["prompt_text"], PROMPT, "served rows keep the prompt: {g}");
    }
    let server_row = row(&all, "/server@6rps");
    assert_eq!(num(server_row, "offered_rate"), 6.0);
    assert!(row(&all, "/offline")["gen_pattern"] == "offline");
    assert!(row(&all, "/concurrencyx3")["gen_pattern"] == "concurrency");

    // Without streaming the whole answer arrives at once: TTFT = e2e.
    let whole = scenario
        .replace("api = 'completions'", "api = 'completions'\nstream = false")
        .replace(
            "pattern = ['single_stream', 'offline', 'concurrency', 'server']",
            "pattern = 'single_stream'",
        );
    let (folder, ok) = run(dir.path(), "whole", &whole, &[]);
    let r = &rows(&folder)[0];
    assert!(ok, "{r:?}");
    assert_eq!(num(r, "ttft_p50_ms"), num(r, "e2e_p50_ms"), "{r:?}");
}

/// One scenario measures the served model and the same GGUF in-process:
/// the served text is scored against the f64 reference's continuation of
/// the raw prompt, the very reference the candle row is scored against.
#[test]
fn served_text_is_scored_against_the_reference_beside_an_in_process_row() {
    let Some(binary) = llama_server() else { return };
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&binary, &dir.path().join("server.log"), &["-c", "512"]);
    let model = repo_root().join("vendor/models/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf");
    let scenario = format!(
        "backends = ['openai', 'candle']\n[model]\nname = 'smollm2-135m'\ngguf = '{}'\n\
         [endpoint]\nurl = '{}'\napi = 'completions'\n[inputs]\nprompt = '{PROMPT}'\n\
         [generation]\ngen_len = 12\nrequests = 2\npattern = 'single_stream'\n",
        model.display(),
        server.url()
    );
    let (folder, ok) = run(dir.path(), "agreement", &scenario, &[]);
    let all = rows(&folder);
    assert!(ok, "{all:?}");
    let (served, candle) = (row(&all, "/openai/"), row(&all, "/candle/"));
    for r in [served, candle] {
        assert_eq!(r["status"], "measured", "{r:?}");
        assert!(num(r, "agree_rouge_l") > 0.0, "{r:?}");
    }
    // The server's first greedy token is the reference's: the Q4_1 kernels
    // move logits by far less than the gap between the top two.
    assert!(num(served, "agree_prefix_tokens") >= 1.0, "{served:?}");
    let generation: Vec<serde_json::Value> = cases(&folder)
        .into_iter()
        .map(|c| c["generation"].clone())
        .collect();
    let reference = generation[0]["reference_text"].as_str().unwrap();
    assert!(!reference.is_empty(), "{:?}", generation[0]);
    for g in &generation {
        assert_eq!(
            g["reference_text"], reference,
            "one reference for both rows"
        );
        assert_eq!(g["prompt_text"], PROMPT);
        assert!(!g["generated_text"].as_str().unwrap().is_empty(), "{g}");
    }
}

#[test]
fn goodput_counts_requests_meeting_the_slo_and_the_search_finds_a_rate() {
    let Some(binary) = llama_server() else { return };
    let dir = tempfile::tempdir().unwrap();
    // One slot: offline requests queue at the server, so their TTFTs spread.
    let server = Server::start(
        &binary,
        &dir.path().join("server.log"),
        &["-c", "256", "-np", "1"],
    );
    let base = format!(
        "backends = 'openai'\n[endpoint]\nurl = '{}'\napi = 'chat'\n\
         [inputs]\nprompt = '{PROMPT}'\n\
         [generation]\ngen_len = 8\nrequests = 6\npattern = 'offline'\n",
        server.url()
    );
    let (folder, _) = run(dir.path(), "probe", &base, &[]);
    let mut ttfts: Vec<u64> = cases(&folder)[0]["generation"]["ttft_samples_ns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    ttfts.sort();
    // A limit between the 3rd and 4th TTFT: about half the requests meet it.
    let limit_ms = (ttfts[2] + ttfts[3]) as f64 / 2.0 * 1e-6;
    let with_slo = format!("{base}[slo]\nttft_ms = {limit_ms}\n");
    let (folder, _) = run(dir.path(), "slo", &with_slo, &[]);
    let case = &cases(&folder)[0];
    let g = &case["generation"];
    let met = g["ttft_samples_ns"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| v.as_u64().unwrap() as f64 * 1e-6 <= limit_ms)
        .count();
    assert!(
        met > 0 && met < 6,
        "the SLO should split the requests: {met} of 6 met it"
    );
    let wall_s = g["wall_s"].as_f64().unwrap();
    let goodput = g["goodput"].as_f64().unwrap();
    assert!(
        (goodput - met as f64 / wall_s).abs() < 1e-9,
        "goodput {goodput}, {met} met"
    );
    assert!(goodput < g["achieved_rate"].as_f64().unwrap());
    // Its p99 misses the limit: the case fails and says which limit.
    assert_eq!(case["status"], "failed");
    assert!(
        case["message"].as_str().unwrap().contains("p99 TTFT"),
        "{case}"
    );

    // The rate search holds every limit at p99.
    let search = base.replace(
        "pattern = 'offline'",
        "pattern = 'server'\nsearch_rate = true",
    ) + "[slo]\ne2e_ms = 20000\ntpot_ms = 5000\n";
    let (folder, ok) = run(dir.path(), "search", &search, &[]);
    let r = &rows(&folder)[0];
    assert!(ok, "{r:?}");
    assert!(num(r, "max_rate_meeting_target") > 0.0, "{r:?}");
    assert!(num(r, "goodput") > 0.0, "{r:?}");
}

#[test]
fn a_down_endpoint_and_a_rejected_prompt_are_counted_errors_and_other_cases_run() {
    let Some(binary) = llama_server() else { return };
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(
        &binary,
        &dir.path().join("server.log"),
        &["-c", "128", "-np", "1"],
    );
    let long_prompt = "colour ".repeat(400);
    let scenario = format!(
        "backends = 'openai'\n[generation]\ngen_len = 4\nrequests = 3\n\
         [inputs]\nprompt = '{PROMPT}'\n\
         [[cases]]\nname = 'down'\n[cases.endpoint]\nurl = 'http://127.0.0.1:{}/v1'\n\
         [cases.generation]\ngen_len = 4\nrequests = 3\npattern = 'concurrency'\nconcurrency = 2\n\
         [[cases]]\nname = 'served'\n[cases.endpoint]\nurl = '{}'\n",
        free_port(),
        server.url()
    );
    let (folder, ok) = run(dir.path(), "down", &scenario, &[]);
    assert!(!ok, "an errored case makes the run exit non-zero");
    let all = cases(&folder);
    assert_eq!(all.len(), 2);
    let down = &all[0];
    assert_eq!(down["status"], "error", "{down}");
    let classes = &down["generation"]["errors_by_class"];
    assert_eq!(classes["connection_refused"]["count"], 3, "{classes}");
    assert!(
        down["message"]
            .as_str()
            .unwrap()
            .contains("connection_refused ×3"),
        "{down}"
    );
    assert_eq!(
        all[1]["status"], "measured",
        "the next case still ran: {}",
        all[1]
    );

    // A prompt longer than the server's context: the server's own message.
    let rejected = format!(
        "backends = 'openai'\n[endpoint]\nurl = '{}'\n[inputs]\nprompt = '{long_prompt}'\n\
         [generation]\ngen_len = 4\nrequests = 2\n",
        server.url()
    );
    let (folder, _) = run(dir.path(), "rejected", &rejected, &[]);
    let case = &cases(&folder)[0];
    let classes = &case["generation"]["errors_by_class"];
    let (class, tally) = classes.as_object().unwrap().iter().next().unwrap();
    assert_eq!(
        (class.as_str(), tally["count"].as_u64()),
        ("http_400", Some(2)),
        "{classes}"
    );
    let message = rows(&folder)[0]["message"].clone();
    assert!(
        message.contains("context"),
        "the server's message in the row: {message}"
    );
}

#[test]
fn the_api_key_is_read_from_its_variable_and_written_nowhere() {
    let Some(binary) = llama_server() else { return };
    let dir = tempfile::tempdir().unwrap();
    let key = "ib-test-key-5f1c9a";
    let server = Server::start(
        &binary,
        &dir.path().join("server.log"),
        &["-c", "256", "-np", "1", "--api-key", key],
    );
    let scenario = format!(
        "backends = 'openai'\n[inputs]\nprompt = '{PROMPT}'\n[generation]\ngen_len = 4\nrequests = 2\n\
         [[cases]]\nname = 'keyed'\n[cases.endpoint]\nurl = '{url}'\nmodel = 'keyed'\n\
         api_key_env = 'IB_TEST_KEY'\n\
         [[cases]]\nname = 'unkeyed'\n[cases.endpoint]\nurl = '{url}'\nmodel = 'unkeyed'\n",
        url = server.url()
    );
    let (folder, _) = run(dir.path(), "key", &scenario, &[("IB_TEST_KEY", key)]);
    let all = cases(&folder);
    assert_eq!(all[0]["status"], "measured", "the key was sent: {}", all[0]);
    let classes = &all[1]["generation"]["errors_by_class"];
    assert_eq!(
        classes["http_401"]["count"], 2,
        "without it the server refuses: {classes}"
    );
    let mut files = vec![folder.clone()];
    let mut checked = 0;
    while let Some(p) = files.pop() {
        if p.is_dir() {
            files.extend(fs::read_dir(&p).unwrap().map(|e| e.unwrap().path()));
        } else {
            let bytes = fs::read(&p).unwrap();
            assert!(
                !bytes.windows(key.len()).any(|w| w == key.as_bytes()),
                "the API key is in {}",
                p.display()
            );
            checked += 1;
        }
    }
    assert!(
        checked >= 3,
        "results.csv, results.json, environment.json at least"
    );
}
