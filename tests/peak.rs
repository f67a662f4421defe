//! `inferbench peak` and `run --peak` on the real backends: each backend's
//! own matmul measured in worker processes (short settings, so the test
//! stays cheap), checked against the machine's FMA rate, cached, and read
//! back by a run as its rows' `peak_fraction`.

use std::path::Path;

use assert_cmd::Command;
use serde_json::Value;

mod support;

use support::{compiled_in, num, read_csv, repo_root};

fn inferbench(cache: &Path) -> Command {
    let mut cmd = Command::cargo_bin("inferbench").unwrap();
    cmd.env("INFERBENCH_CACHE_DIR", cache);
    cmd
}

fn rows(report: &Value) -> &Vec<Value> {
    report["rows"].as_array().expect("rows")
}

/// `inferbench peak` with short settings: its JSON and printed table.
fn measure_peaks(cache: &Path) -> (Value, String) {
    let json = cache.join("peak.json");
    let out = inferbench(cache)
        .args([
            "peak",
            "--threads",
            "1",
            "--sizes",
            "96,192",
            "--seconds",
            "0.05",
        ])
        .arg("--json")
        .arg(&json)
        .assert()
        .success();
    let stdout = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    let report = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    (report, stdout)
}

#[test]
fn each_backend_is_listed_and_real_peaks_sit_under_the_fma_roof() {
    let tmp = tempfile::tempdir().unwrap();
    let (report, stdout) = measure_peaks(tmp.path());
    for backend in ["candle", "ort", "tch", "openai", "null"] {
        assert!(
            stdout
                .lines()
                .any(|l| l.starts_with(&format!("{backend} "))),
            "{backend} missing:\n{stdout}"
        );
    }
    // The roof one core cannot pass: its measured clock × the loop's
    // lanes × 2 FLOPs × 2 vector FMAs a cycle (no x86 core retires more at
    // its widest width), plus 25 % for a clock measured low on a busy
    // machine. A rate off by a factor (FLOPs counted twice, ms read as s)
    // is far above it.
    let fma = &report["fma"];
    let clock = fma["clock_ghz"].as_f64().unwrap();
    let lanes = fma["lanes"].as_f64().unwrap();
    let fmas_a_cycle = (fma["per_core_gflop_per_s"].as_f64().unwrap() / (clock * lanes * 2.0))
        .ceil()
        .max(2.0);
    let roof = 1.25 * clock * lanes * 2.0 * fmas_a_cycle;
    for backend in compiled_in() {
        let f32_row = rows(&report)
            .iter()
            .find(|r| r["backend"] == *backend && r["precision"] == "f32")
            .unwrap_or_else(|| panic!("no f32 row for {backend}: {report}"));
        assert_eq!(f32_row["status"], "measured", "{f32_row}");
    }
    for row in rows(&report).iter().filter(|r| r["status"] == "measured") {
        let rate = row["gflop_per_s"].as_f64().unwrap();
        assert!(rate > 0.0 && rate < roof, "{row} against a roof of {roof}");
        assert_eq!(row["by_size"].as_array().unwrap().len(), 2, "{row}");
    }
    let null = rows(&report)
        .iter()
        .find(|r| r["backend"] == "null")
        .unwrap();
    assert!(
        null["reason"].as_str().unwrap().contains("no arithmetic"),
        "{null}"
    );
}

#[test]
fn a_run_reads_its_rows_against_the_cached_peaks() {
    let tmp = tempfile::tempdir().unwrap();
    let (measured, _) = measure_peaks(tmp.path());
    let out = tmp.path().join("runs");
    inferbench(tmp.path())
        .arg("run")
        .arg(repo_root().join("tests/scenarios/tiny.toml"))
        .args(["--peak", "--no-history", "--out"])
        .arg(&out)
        .assert()
        .success();
    let dir = support::newest_run(&out);
    let environment: Value =
        serde_json::from_slice(&std::fs::read(dir.join("environment.json")).unwrap()).unwrap();
    let peak = &environment["peak"];
    assert!(peak["fma"]["all_gflop_per_s"].as_f64().unwrap() > 0.0);
    let results = read_csv(&dir.join("results.csv"));
    for row in &results {
        let backend = row["backend"].as_str();
        if !compiled_in().contains(&backend) {
            assert_eq!(row["peak_fraction"], "", "{row:?}");
            continue;
        }
        // The run measured nothing: its peak is the cached one, the very
        // row `inferbench peak` wrote (same time of measurement).
        let find = |report: &Value| {
            rows(report)
                .iter()
                .find(|r| r["backend"] == backend && r["precision"] == "f32" && r["threads"] == 1)
                .cloned()
                .unwrap_or_else(|| panic!("no {backend} f32 th1 peak in {report}"))
        };
        let used = find(peak);
        assert_eq!(used, find(&measured));
        let fraction = num(row, "gflop_per_s") / used["gflop_per_s"].as_f64().unwrap();
        let written = num(row, "peak_fraction");
        assert!(
            (written / fraction - 1.0).abs() < 1e-12,
            "{written} vs {fraction}"
        );
    }
    let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
    // The summary's column and the case details' throughput line.
    assert!(html.contains("of peak") && html.contains("matmul peak"));
}
