//! End-to-end tests: the real `inferbench` binary on real backends, with
//! its output files read back and asserted.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use predicates::prelude::*;
use predicates::str::contains;

mod support;

fn scenario(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/scenarios")
        .join(name)
}

fn inferbench(cache: &Path) -> Command {
    let mut cmd = Command::cargo_bin("inferbench").unwrap();
    cmd.env("INFERBENCH_CACHE_DIR", cache);
    cmd
}

/// The single run folder under `out`.
fn run_dir(out: &Path) -> PathBuf {
    let dirs: Vec<_> = fs::read_dir(out)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(dirs.len(), 1, "{dirs:?}");
    dirs[0].clone()
}

use support::read_csv;

fn num(row: &HashMap<String, String>, col: &str) -> f64 {
    row[col]
        .parse()
        .unwrap_or_else(|_| panic!("{col} = {:?}", row[col]))
}

/// The backends of tiny.toml that this build measures rather than skips.
fn compiled_in() -> &'static [&'static str] {
    // ONNX Runtime is installed by ci/setup.sh, which the tests require.
    if cfg!(feature = "tch") {
        &["candle", "ort", "tch"]
    } else {
        &["candle", "ort"]
    }
}

#[test]
fn run_writes_measured_and_skipped_rows() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("runs");
    inferbench(tmp.path())
        .args([
            "run",
            scenario("tiny.toml").to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ])
        .assert()
        .success()
        .stdout(contains("tiny/").not())
        .stdout(contains("gpt-v64-h32-l1/candle/cpu/f32/b2/t8/th1"));
    let dir = run_dir(&out);
    let rows = read_csv(&dir.join("results.csv"));
    assert_eq!(rows.len(), 6, "3 backends x 2 batch sizes");

    // Backends compiled into this build are measured, the others skipped.
    let compiled_in = compiled_in();
    let measured: Vec<_> = rows
        .iter()
        .filter(|r| compiled_in.contains(&r["backend"].as_str()))
        .collect();
    assert_eq!(measured.len(), 2 * compiled_in.len());
    for (row, batch) in measured.iter().zip([1.0, 2.0].into_iter().cycle()) {
        assert_eq!(row["status"], "measured", "{row:?}");
        assert_eq!(
            (
                row["scenario"].as_str(),
                row["device"].as_str(),
                row["precision"].as_str()
            ),
            ("tiny", "cpu", "f32")
        );
        assert_eq!(
            (num(row, "batch"), num(row, "seq_len"), num(row, "threads")),
            (batch, 8.0, 1.0)
        );
        assert_eq!(num(row, "iterations"), 5.0);
        let (p50, p99) = (num(row, "latency_p50_ms"), num(row, "latency_p99_ms"));
        assert!(p50 > 0.0 && p99 >= p50, "p50 {p50} p99 {p99}");
        // tokens/s follows from the mean latency and the tokens per pass.
        let expected = batch * 8.0 / (num(row, "latency_mean_ms") * 1e-3);
        assert!((num(row, "throughput_tokens_per_s") / expected - 1.0).abs() < 1e-9);
        assert!(num(row, "peak_rss_bytes") > 1e6 && num(row, "load_ms") > 0.0);
        assert!(num(row, "acc_rel_l2") < 1e-5 && num(row, "acc_max_abs") < 1e-3);
        assert_eq!(num(row, "acc_top1"), 1.0);
        assert!(num(row, "gflop_per_s") > 0.0);
    }
    for row in rows
        .iter()
        .filter(|r| !compiled_in.contains(&r["backend"].as_str()))
    {
        assert_eq!(row["status"], "skipped", "{row:?}");
        assert!(row["message"].contains("hint"), "{row:?}");
        assert_eq!(row["latency_p50_ms"], "");
    }

    // results.json carries every raw sample and the environment.
    let json: serde_json::Value =
        serde_json::from_slice(&fs::read(dir.join("results.json")).unwrap()).unwrap();
    assert_eq!(json["cases"][0]["samples_ns"].as_array().unwrap().len(), 5);
    assert!(json["finished_at"].is_string());
    let env: serde_json::Value =
        serde_json::from_slice(&fs::read(dir.join("environment.json")).unwrap()).unwrap();
    assert!(env["logical_cores"].as_u64().unwrap() >= 1);
    assert_eq!(env["scenario_sha256"].as_str().unwrap().len(), 64);
    assert!(
        env["backends"]["candle"]
            .as_str()
            .unwrap()
            .contains("0.11.1")
    );
    assert!(dir.join("scenario.toml").is_file());
    // One precision only: nothing to trade, no accuracy/speed-up plot.
    assert!(!dir.join("pareto.png").exists());
}

#[test]
fn corrupt_model_file_is_an_error_row_and_other_cases_still_run() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("runs");
    let file = scenario("tiny.toml");
    let args = [
        "run",
        file.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--filter",
        "candle/cpu/f32/b1",
    ];
    inferbench(tmp.path()).args(args).assert().success();
    // Corrupt the cached weights: the next run must report it, located.
    let weights = walk(tmp.path())
        .into_iter()
        .find(|p| p.ends_with("model.safetensors"))
        .unwrap();
    fs::write(&weights, b"garbage").unwrap();
    fs::remove_dir_all(&out).unwrap();
    inferbench(tmp.path())
        .args([
            "run",
            file.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ])
        .assert()
        .code(1)
        .stderr(contains("errored"));
    let rows = read_csv(&run_dir(&out).join("results.csv"));
    let errors: Vec<_> = rows.iter().filter(|r| r["status"] == "error").collect();
    assert_eq!(errors.len(), 2 * compiled_in().len(), "{rows:?}");
    for error in errors {
        assert!(error["message"].contains("model.safetensors"), "{error:?}");
    }
    assert_eq!(rows.len(), 6, "every case still has its row");
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walk(&path))
        } else {
            out.push(path)
        }
    }
    out
}

#[test]
fn accuracy_limits_fail_the_run() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("strict.toml");
    fs::write(
        &file,
        fs::read_to_string(scenario("tiny.toml"))
            .unwrap()
            .replace(
                "backends = [\"candle\", \"ort\", \"tch\"]",
                "backends = \"candle\"\nprecisions = [\"f32\", \"bf16\"]",
            )
            .replace("batch = [1, 2]", "batch = 1")
            + "\n[accuracy]\nmax_rel_l2 = 1e-4\n",
    )
    .unwrap();
    let out = tmp.path().join("runs");
    inferbench(tmp.path())
        .args([
            "run",
            file.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ])
        .assert()
        .code(1)
        .stderr(contains("accuracy limits"));
    let dir = run_dir(&out);
    // Two precisions of one backend: the accuracy/speed-up plot is drawn.
    for plot in ["pareto.png", "pareto.svg"] {
        assert!(fs::metadata(dir.join(plot)).unwrap().len() > 1000, "{plot}");
    }
    let rows = read_csv(&dir.join("results.csv"));
    let status: Vec<_> = rows
        .iter()
        .map(|r| (r["precision"].as_str(), r["status"].as_str()))
        .collect();
    assert_eq!(status, [("f32", "measured"), ("bf16", "failed")]);
    assert!(
        rows[1]["message"].contains("rel_l2") && rows[1]["message"].contains("exceeds the limit")
    );
}

#[test]
fn validate_locates_a_typo_and_suggests_the_key() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("typo.toml");
    fs::write(&file, "name = 'x'\n\nbakends = ['candle']\n").unwrap();
    inferbench(tmp.path())
        .args(["validate", file.to_str().unwrap()])
        .assert()
        .code(2)
        .stderr(contains(
            "typo.toml:3:1: unknown key `bakends`, did you mean `backends`?",
        ));
    inferbench(tmp.path())
        .args(["validate", scenario("tiny.toml").to_str().unwrap()])
        .assert()
        .success()
        .stdout(contains("valid, 6 cases"));
    // A run of an invalid scenario stops before creating anything.
    let out = tmp.path().join("runs");
    inferbench(tmp.path())
        .args([
            "run",
            file.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ])
        .assert()
        .code(2);
    assert!(!out.exists());
}

#[test]
fn every_shipped_scenario_is_valid() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios");
    let tmp = tempfile::tempdir().unwrap();
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        // Scenarios may keep data beside them (prompt files).
        if path.extension().is_none_or(|e| e != "toml") {
            continue;
        }
        inferbench(tmp.path())
            .args(["validate", path.to_str().unwrap()])
            .assert()
            .success();
    }
}

#[test]
fn schema_describes_the_format() {
    let tmp = tempfile::tempdir().unwrap();
    let out = inferbench(tmp.path())
        .arg("schema")
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let schema: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let props = &schema["properties"];
    for key in [
        "backends",
        "precisions",
        "batch",
        "seq_len",
        "threads",
        "model",
        "warmup",
        "measurement",
        "cases",
    ] {
        assert!(props.get(key).is_some(), "schema lacks `{key}`");
    }
    assert_eq!(
        schema["additionalProperties"],
        serde_json::Value::Bool(false)
    );
}

#[test]
fn backends_lists_every_adapter() {
    let tmp = tempfile::tempdir().unwrap();
    let tch = if cfg!(feature = "tch") {
        "tch      ready        libtorch 2.13.0"
    } else {
        "tch      unavailable  backend `tch` is not compiled in"
    };
    inferbench(tmp.path())
        .arg("backends")
        .assert()
        .success()
        .stdout(contains("candle   ready"))
        .stdout(contains("ort"))
        .stdout(contains(tch));
}

#[test]
fn missing_ort_library_gives_skipped_rows_with_the_hint() {
    let tmp = tempfile::tempdir().unwrap();
    let file = scenario("tiny.toml");
    let run = |out: &Path, extra: &[&str], env: Option<&str>| {
        let mut cmd = inferbench(tmp.path());
        match env {
            Some(v) => cmd.env("ORT_DYLIB_PATH", v),
            None => cmd.env_remove("ORT_DYLIB_PATH"),
        };
        cmd.args([
            "run",
            file.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ])
        .args(extra)
        .assert()
        .success();
        read_csv(&run_dir(out).join("results.csv"))
    };
    // An explicit library path is authoritative: the project's own
    // vendor/onnxruntime/ is not used behind its back.
    let rows = run(
        &tmp.path().join("env"),
        &[],
        Some("/nowhere/libonnxruntime.so.1.32.0"),
    );
    let missing = tmp.path().join("missing.so");
    let flag_rows = run(
        &tmp.path().join("flag"),
        &["--ort-lib", missing.to_str().unwrap()],
        Some(""),
    );
    for (rows, path) in [
        (&rows, "/nowhere/libonnxruntime.so.1.32.0"),
        (&flag_rows, missing.to_str().unwrap()),
    ] {
        let ort: Vec<_> = rows.iter().filter(|r| r["backend"] == "ort").collect();
        assert_eq!(ort.len(), 2);
        for row in ort {
            assert_eq!(row["status"], "skipped", "{row:?}");
            assert!(row["message"].contains(path), "{row:?}");
            assert!(
                row["message"].contains("hint: run `bash ci/setup.sh`"),
                "{row:?}"
            );
        }
        assert!(
            rows.iter()
                .filter(|r| r["backend"] == "candle")
                .all(|r| r["status"] == "measured")
        );
    }
}

#[test]
fn user_onnx_models_run_and_a_truncated_one_is_an_error_row() {
    use inferbench_ort::onnx::samples::masked_embedding;
    let tmp = tempfile::tempdir().unwrap();
    let model = masked_embedding(11, 4, 1.0);
    fs::write(tmp.path().join("good.onnx"), &model).unwrap();
    fs::write(tmp.path().join("truncated.onnx"), &model[..model.len() / 2]).unwrap();
    let file = tmp.path().join("files.toml");
    fs::write(
        &file,
        r#"
backends = "ort"
batch = [1, 3]
seq_len = 5
threads = 1
[warmup]
iterations = 1
seconds = 0.0
[measurement]
min_iterations = 4
max_iterations = 4
min_seconds = 0.0

[[cases]]
name = "good"
model = { file = "good.onnx", vocab_size = 11 }
accuracy = { reference = "case", reference_case = { file = "good.onnx" } }

[[cases]]
name = "truncated"
model = { file = "truncated.onnx", vocab_size = 11 }

[[cases]]
name = "synthetic"
backends = "candle"
batch = 1
model = { vocab_size = 64, hidden = 32, layers = 1, heads = 2, max_seq = 16 }
"#,
    )
    .unwrap();
    let out = tmp.path().join("runs");
    inferbench(tmp.path())
        .args([
            "run",
            file.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ])
        .assert()
        .code(1)
        .stderr(contains("errored"));
    let rows = read_csv(&run_dir(&out).join("results.csv"));
    let status: Vec<_> = rows
        .iter()
        .map(|r| (r["case"].as_str(), r["status"].as_str()))
        .collect();
    assert_eq!(
        status,
        [
            ("good/ort/cpu/f32/b1/t5/th1", "measured"),
            ("good/ort/cpu/f32/b3/t5/th1", "measured"),
            ("truncated/ort/cpu/f32/b1/t5/th1", "error"),
            ("truncated/ort/cpu/f32/b3/t5/th1", "error"),
            ("gpt-v64-h32-l1/candle/cpu/f32/b1/t5/th1", "measured"),
        ]
    );
    for row in &rows[..2] {
        assert_eq!(num(row, "iterations"), 4.0);
        assert!(num(row, "latency_p50_ms") > 0.0, "{row:?}");
        // The same file as its own reference: identical outputs.
        assert_eq!(num(row, "acc_max_abs"), 0.0, "{row:?}");
        assert_eq!(row["gflop_per_s"], "", "a model file's FLOPs are unknown");
    }
    for row in &rows[2..4] {
        assert!(
            row["message"].contains("truncated.onnx")
                && row["message"].contains("ONNX Runtime cannot load it"),
            "{row:?}"
        );
    }
}

/// A user TorchScript file through the same model-file path as ONNX:
/// inputs generated from the declared `input_ids`, bf16 measured against
/// the f32 run of the same file as its reference case.
#[cfg(feature = "tch")]
#[test]
fn torchscript_file_runs_with_a_reference_case() {
    let tmp = tempfile::tempdir().unwrap();
    let model = Path::new(env!("CARGO_MANIFEST_DIR")).join("../backends/tch/testdata/tiny_lm.pt");
    let file = tmp.path().join("ts.toml");
    fs::write(
        &file,
        format!(
            "backends = 'tch'\nprecisions = ['f32', 'bf16']\nbatch = 2\nseq_len = 5\nthreads = 1\n\
             [model]\nfile = '{}'\nvocab_size = 16\n\
             [accuracy]\nreference = 'case'\nreference_case = {{ precision = 'f32' }}\n\
             [measurement]\nmin_iterations = 3\nmin_seconds = 0.0\nmax_iterations = 3\n",
            model.display()
        ),
    )
    .unwrap();
    let out = tmp.path().join("runs");
    inferbench(tmp.path())
        .args([
            "run",
            file.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ])
        .assert()
        .success();
    let rows = read_csv(&run_dir(&out).join("results.csv"));
    assert_eq!(rows.len(), 2);
    for row in &rows {
        assert_eq!(row["status"], "measured", "{row:?}");
        assert_eq!(num(row, "iterations"), 3.0);
    }
    // f32 against itself is exact; bf16 loses bits but keeps the shape.
    assert_eq!(num(&rows[0], "acc_max_abs"), 0.0);
    let bf16 = num(&rows[1], "acc_rel_l2");
    assert!(bf16 > 0.0 && bf16 < 0.05, "bf16 rel L2 {bf16}");
}
