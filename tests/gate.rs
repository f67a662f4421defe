//! End-to-end tests of the regression gate: the real binary runs the real
//! candle backend, and `compare`, `baseline`, `run --baseline` and
//! `history` are checked through their exit codes and output files.
//! Slowdowns are injected (`--inject-slowdown`, a busy-wait of a known
//! share of each pass) large enough that a busy machine cannot hide them.

mod support;

use std::fs;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use predicates::str::contains;

fn scenario() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/scenarios/gate.toml")
}

fn inferbench(dir: &Path) -> Command {
    let mut cmd = Command::cargo_bin("inferbench").unwrap();
    cmd.env("INFERBENCH_CACHE_DIR", dir.join("cache"))
        .current_dir(dir);
    cmd
}

/// Runs the gate scenario into `dir/<out>` and returns the run folder.
fn run(dir: &Path, out: &str, slowdown: u32) -> PathBuf {
    inferbench(dir)
        .args(["run", scenario().to_str().unwrap(), "--out", out])
        .args(["--inject-slowdown", &slowdown.to_string()])
        .assert()
        .success();
    support::newest_run(&dir.join(out))
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn a_run_against_itself_is_unchanged_and_writes_every_report() {
    let tmp = tempfile::tempdir().unwrap();
    let a = run(tmp.path(), "runs", 0);
    let a = a.to_str().unwrap();
    inferbench(tmp.path())
        .args(["compare", a, a])
        .args(["--markdown", "out/gate.md", "--junit", "out/gate.xml"])
        .args(["--json", "out/verdict.json", "--plots", "out/plots"])
        .assert()
        .code(0)
        .stdout(contains("verdict: unchanged"));
    let out = tmp.path().join("out");
    let verdict = json(&out.join("verdict.json"));
    assert_eq!(verdict["format"], "inferbench-verdict/1");
    assert_eq!(verdict["verdict"], "unchanged");
    assert_eq!(
        verdict["settings"]["clock"], "cpu",
        "from the scenario's [gate]"
    );
    let case = &verdict["cases"][0];
    assert_eq!(case["id"], "gpt-v64-h32-l1/candle/cpu/f32/b1/t8/th1");
    assert_eq!(case["metrics"][1]["metric"], "latency_p50");
    assert_eq!(case["metrics"][1]["change"], 0.0);
    assert_eq!(case["base_samples"], 200);
    let md = fs::read_to_string(out.join("gate.md")).unwrap();
    assert!(
        md.starts_with("## inferbench regression gate: ✅ no regression"),
        "{md}"
    );
    let xml = fs::read_to_string(out.join("gate.xml")).unwrap();
    assert!(xml.contains("tests=\"1\" failures=\"0\""), "{xml}");
    for file in [
        "comparison.png",
        "comparison.svg",
        "gpt-v64-h32-l1_candle_cpu_f32_b1_t8_th1-latency-cdf.png",
    ] {
        let bytes = fs::read(out.join("plots").join(file)).unwrap();
        assert!(bytes.len() > 1000, "{file}: {} bytes", bytes.len());
    }
}

#[test]
fn an_injected_slowdown_fails_the_gate_and_its_reverse_passes() {
    let tmp = tempfile::tempdir().unwrap();
    let fast = run(tmp.path(), "fast", 0);
    let slow = run(tmp.path(), "slow", 60);
    let (fast, slow) = (fast.to_str().unwrap(), slow.to_str().unwrap());
    inferbench(tmp.path())
        .args([
            "compare", fast, slow, "--json", "v.json", "--junit", "j.xml",
        ])
        .assert()
        .code(1)
        .stdout(contains("regressed"));
    let v = json(&tmp.path().join("v.json"));
    let p50 = &v["cases"][0]["metrics"][1];
    assert_eq!(p50["metric"], "latency_p50");
    assert_eq!(p50["verdict"], "regressed", "{p50}");
    assert!(p50["change"].as_f64().unwrap() > 20.0, "{p50}");
    let xml = fs::read_to_string(tmp.path().join("j.xml")).unwrap();
    assert!(xml.contains("<failure message=\"regressed\""), "{xml}");
    inferbench(tmp.path())
        .args(["compare", slow, fast])
        .assert()
        .code(0)
        .stdout(contains("improved"));
}

#[test]
fn run_with_a_saved_baseline_gates_in_one_step() {
    let tmp = tempfile::tempdir().unwrap();
    let base = run(tmp.path(), "runs", 0);
    inferbench(tmp.path())
        .args(["baseline", "save", "gate", base.to_str().unwrap()])
        .assert()
        .success()
        .stdout(contains("baseline gate: 1 cases, 200 samples"));
    let saved = json(&tmp.path().join("results/baselines/gate.json"));
    assert_eq!(saved["format"], "inferbench-baseline/1");
    assert_eq!(
        saved["cases"][0]["cpu_samples_ns"]
            .as_array()
            .unwrap()
            .len(),
        200
    );
    inferbench(tmp.path())
        .args(["run", scenario().to_str().unwrap(), "--out", "runs"])
        .args(["--inject-slowdown", "60", "--baseline", "gate"])
        .assert()
        .code(1)
        .stdout(contains("verdict: regressed"));
    // The comparison's page sits beside the run's.
    let gate_page =
        fs::read_to_string(support::newest_run(&tmp.path().join("runs")).join("gate.html"))
            .unwrap();
    assert!(gate_page.contains("✗ Regressed"), "the verdict banner");
    // Every run went into the history beside the runs folder.
    let history = fs::read_to_string(tmp.path().join("history.jsonl")).unwrap();
    assert_eq!(history.lines().count(), 2, "{history}");
    inferbench(tmp.path())
        .args(["history", "--file", "history.jsonl", "--plots", "hplots"])
        .args(["--baseline", "gate"])
        .assert()
        .success()
        .stdout(contains(
            "gpt-v64-h32-l1/candle/cpu/f32/b1/t8/th1: 2 measured runs",
        ));
    assert!(
        tmp.path()
            .join("hplots/gpt-v64-h32-l1_candle_cpu_f32_b1_t8_th1-latency_p50-history.svg")
            .is_file()
    );
}

#[test]
fn bad_input_exits_2_with_the_reason() {
    let tmp = tempfile::tempdir().unwrap();
    inferbench(tmp.path())
        .args(["compare", "no-such-run", "no-such-baseline"])
        .assert()
        .code(2)
        .stderr(contains("`no-such-run` is neither a run folder"));
    let a = run(tmp.path(), "runs", 0);
    let a = a.to_str().unwrap();
    inferbench(tmp.path())
        .args(["compare", a, a, "--threshold", "latency_p7=3"])
        .assert()
        .code(2)
        .stderr(contains("unknown metric `latency_p7`"));
    inferbench(tmp.path())
        .args(["run", scenario().to_str().unwrap(), "--baseline", "missing"])
        .assert()
        .code(2)
        .stderr(contains("--baseline missing"));
    inferbench(tmp.path())
        .args(["baseline", "save", "../x", a])
        .assert()
        .code(2)
        .stderr(contains("may only hold letters"));
}
