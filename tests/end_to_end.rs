//! End-to-end tests: the real `inferbench` binary on real backends, with
//! its output files read back and asserted.

#[path = "support/pinned.rs"]
mod pinned;

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

/// `inferbench run FILE --out OUT`, the model cache in `cache`.
fn run(cache: &Path, file: &Path, out: &Path) -> Command {
    let mut cmd = inferbench(cache);
    cmd.arg("run").arg(file).arg("--out").arg(out);
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

use support::{compiled_in, num, read_csv};

#[test]
fn run_writes_measured_and_skipped_rows() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("runs");
    run(tmp.path(), &scenario("tiny.toml"), &out)
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
            .contains(&pinned::candle_version())
    );
    assert!(dir.join("scenario.toml").is_file());
    // One precision only: nothing to trade, no accuracy/speed-up plot.
    assert!(!dir.join("pareto.png").exists());
}

#[test]
fn damaged_cached_weights_are_rebuilt_not_measured() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("runs");
    let file = scenario("tiny.toml");
    run(tmp.path(), &file, &out)
        .args(["--filter", "candle/cpu/f32/b1"])
        .assert()
        .success();
    // Damage the cached weights: zeroed pages used to be read as weights
    // (rel L2 0.2-0.36 and exit 0), garbage lost the rows. Their recorded
    // hash no longer matches, so the next run rebuilds them.
    let weights = walk(tmp.path())
        .into_iter()
        .find(|p| p.ends_with("model.safetensors"))
        .unwrap();
    let whole = fs::read(&weights).unwrap();
    let mut damaged = whole.clone();
    let end = damaged.len();
    damaged[end - 4096..].fill(0);
    fs::write(&weights, &damaged).unwrap();
    fs::remove_dir_all(&out).unwrap();
    run(tmp.path(), &file, &out).assert().success();
    let rows = read_csv(&run_dir(&out).join("results.csv"));
    assert_eq!(rows.len(), 6, "every case still has its row");
    for row in rows.iter().filter(|r| r["status"] == "measured") {
        assert!(num(row, "acc_rel_l2") < 1e-5, "{row:?}");
    }
    assert_eq!(fs::read(&weights).unwrap(), whole, "rebuilt exactly");
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
    run(tmp.path(), &file, &out)
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
    run(tmp.path(), &file, &out).assert().code(2);
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
        format!("tch      ready        libtorch {}", pinned::torch_version())
    } else {
        "tch      unavailable  backend `tch` is not compiled in".to_string()
    };
    // Each line whole, status and version: `contains("ort")` matched the
    // adapter's line whatever it said.
    inferbench(tmp.path())
        .arg("backends")
        .assert()
        .success()
        .stdout(contains(format!(
            "candle   ready        candle-core {}",
            pinned::candle_version()
        )))
        .stdout(contains(format!(
            "ort      ready        onnxruntime {} (",
            pinned::ort_version()
        )))
        .stdout(contains(tch));
}

#[test]
fn missing_ort_library_gives_skipped_rows_with_the_hint() {
    let tmp = tempfile::tempdir().unwrap();
    let file = scenario("tiny.toml");
    let run_with = |out: &Path, extra: &[&str], env: Option<&str>| {
        let mut cmd = run(tmp.path(), &file, out);
        match env {
            Some(v) => cmd.env("ORT_DYLIB_PATH", v),
            None => cmd.env_remove("ORT_DYLIB_PATH"),
        };
        cmd.args(extra).assert().success();
        read_csv(&run_dir(out).join("results.csv"))
    };
    // An explicit library path is authoritative: the project's own
    // vendor/onnxruntime/ is not used behind its back.
    let rows = run_with(
        &tmp.path().join("env"),
        &[],
        Some("/nowhere/libonnxruntime.so"),
    );
    let missing = tmp.path().join("missing.so");
    let flag_rows = run_with(
        &tmp.path().join("flag"),
        &["--ort-lib", missing.to_str().unwrap()],
        Some(""),
    );
    for (rows, path) in [
        (&rows, "/nowhere/libonnxruntime.so"),
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
    fs::copy(scenario("user_model_files.toml"), &file).unwrap();
    let out = tmp.path().join("runs");
    run(tmp.path(), &file, &out)
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
    run(tmp.path(), &file, &out).assert().success();
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

/// A model whose outputs are all NaN (the sample encoder with a NaN table,
/// written by our ONNX writer): with a reference the case is `failed`, not
/// `measured` with max |Δ| 0; without one it is counted and warned about;
/// and the NaN figures survive results.json for `baseline` and `export`.
#[test]
fn nan_outputs_fail_with_a_reference_and_are_counted_without_one() {
    use inferbench_ort::onnx::samples::masked_embedding;
    let tmp = tempfile::tempdir().unwrap();
    fs::write(
        tmp.path().join("nan.onnx"),
        masked_embedding(11, 4, f32::NAN),
    )
    .unwrap();
    let file = tmp.path().join("nan.toml");
    fs::copy(scenario("nan_outputs.toml"), &file).unwrap();
    let out = tmp.path().join("runs");
    let output = inferbench(tmp.path())
        .args(["run", "--quick", "--no-history", "--out"])
        .arg(&out)
        .arg(&file)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("nan/ort/cpu/f32/b1/t3/th1: 12 output values are NaN or infinite"),
        "{stderr}"
    );
    let dir = run_dir(&out);
    let rows = read_csv(&dir.join("results.csv"));
    assert_eq!(rows[0]["status"], "failed", "{:?}", rows[0]);
    assert!(
        rows[0]["message"].contains("24 output values are NaN"),
        "{:?}",
        rows[0]
    );
    assert_eq!(rows[0]["acc_max_abs"], "NaN");
    assert_eq!(
        (
            rows[1]["status"].as_str(),
            rows[1]["nonfinite_outputs"].as_str()
        ),
        ("measured", "12")
    );
    let json = fs::read_to_string(dir.join("results.json")).unwrap();
    assert!(json.contains("\"max_abs\": \"NaN\""), "{json}");
    // A run holding NaN used to make these exit 2.
    // Outputs under the temporary folder: relative paths would land in the
    // source tree (the test's working directory).
    let baselines = tmp.path().join("b");
    let tensorboard = tmp.path().join("tb");
    inferbench(tmp.path())
        .args(["baseline", "save", "nan", dir.to_str().unwrap(), "--dir"])
        .arg(&baselines)
        .assert()
        .success();
    inferbench(tmp.path())
        .args(["export", dir.to_str().unwrap(), "--tensorboard"])
        .arg(&tensorboard)
        .assert()
        .success();
    assert!(baselines.join("nan.json").exists());
}

/// SIGTERM in the middle of a run: the worker is stopped and its scratch
/// folder removed, the finished case is kept and goes to the history, and
/// the run is marked interrupted.
#[test]
fn a_terminated_run_stops_its_worker_and_keeps_the_finished_cases() {
    let tmp = tempfile::tempdir().unwrap();
    let scratch = tmp.path().join("scratch");
    fs::create_dir_all(&scratch).unwrap();
    let file = tmp.path().join("long.toml");
    fs::copy(scenario("short_then_long.toml"), &file).unwrap();
    let out = tmp.path().join("runs");
    // Worker scratch folders (other files may appear in TMPDIR).
    let scratch_dirs = || {
        fs::read_dir(&scratch)
            .map(|d| {
                d.filter(|e| e.as_ref().is_ok_and(|e| e.path().is_dir()))
                    .count()
            })
            .unwrap_or(0)
    };
    let exe = assert_cmd::cargo::cargo_bin("inferbench");
    let mut child = std::process::Command::new(exe)
        .env("INFERBENCH_CACHE_DIR", tmp.path().join("cache"))
        .env("TMPDIR", &scratch)
        .current_dir(tmp.path())
        .args(["run", "--out", "runs", "long.toml"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Wait until the first case is on disk and the second one's worker runs.
    let started = std::time::Instant::now();
    loop {
        let rows = fs::read_dir(&out)
            .ok()
            .and_then(|mut d| d.next())
            .map(|d| read_csv(&d.unwrap().path().join("results.csv")).len());
        let working = scratch_dirs() > 0;
        if rows == Some(1) && working {
            break;
        }
        assert!(child.try_wait().unwrap().is_none(), "the run ended early");
        assert!(
            started.elapsed().as_secs() < 120,
            "the first case never finished"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    std::thread::sleep(std::time::Duration::from_millis(500));
    let pid = child.id() as i32;
    // SAFETY: kill(2) on the child this test spawned.
    unsafe { libc::kill(pid, libc::SIGTERM) };
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(128 + libc::SIGTERM));
    let dir = run_dir(&out);
    let rows = read_csv(&dir.join("results.csv"));
    let status: Vec<_> = rows.iter().map(|r| r["status"].as_str()).collect();
    assert_eq!(status, ["measured", "interrupted"]);
    let doc: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(dir.join("results.json")).unwrap()).unwrap();
    assert_eq!(doc["interrupted"], "SIGTERM");
    // The scratch folder of the worker is gone, and so is the worker.
    assert_eq!(scratch_dirs(), 0);
    let orphans = fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| fs::read(e.ok()?.path().join("cmdline")).ok())
        .filter(|cmd| String::from_utf8_lossy(cmd).contains(scratch.to_str().unwrap()))
        .count();
    assert_eq!(orphans, 0);
    let history = fs::read_to_string(tmp.path().join("history.jsonl")).unwrap();
    assert_eq!(history.lines().count(), 1, "{history}");
}

/// `inferbench run FILE --quick` in a temporary folder, which must
/// succeed; the folder (kept while it lives) and the run folder in it.
fn quick_run(file: &Path) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("runs");
    run(tmp.path(), file, &out)
        .arg("--quick")
        .assert()
        .success();
    let dir = run_dir(&out);
    (tmp, dir)
}

/// `inferbench run tests/scenarios/NAME --quick`: the rows of its results.csv.
fn quick_run_rows(name: &str) -> Vec<HashMap<String, String>> {
    let (_tmp, dir) = quick_run(&scenario(name));
    read_csv(&dir.join("results.csv"))
}

#[test]
fn a_gguf_checkpoint_runs_against_the_f64_llama_reference() {
    let rows = quick_run_rows("smollm2_forward.toml");
    assert_eq!(rows.len(), 2, "{rows:?}");
    for row in &rows {
        assert_eq!(row["status"], "measured", "{row:?}");
        assert_eq!(row["model"], "SmolLM2-135M-Instruct.Q4_1");
        let (rel, top1) = (num(row, "acc_rel_l2"), num(row, "acc_top1"));
        // f32 is the reference's computation in f32; gguf also quantizes
        // the activations (candle 0.032 rel L2 on 32 tokens).
        let (max_rel, min_top1) = if row["precision"] == "f32" {
            (1e-4, 1.0)
        } else {
            (0.1, 0.75)
        };
        assert!(rel <= max_rel && top1 >= min_top1, "{row:?}");
    }
}

/// The least cosine each precision's worst sentence reaches on MiniLM
/// (f32 is the reference's computation in f32; bf16 keeps 8 mantissa bits).
fn min_cosine(precision: &str) -> f64 {
    match precision {
        "f32" => 0.99999,
        "f16" => 0.999,
        _ => 0.99,
    }
}

#[test]
fn minilm_embeds_sentences_on_every_backend_against_the_f64_reference() {
    let rows = quick_run_rows("minilm.toml");
    assert_eq!(rows.len(), 18, "{rows:?}");
    for row in &rows {
        if row["backend"] == "tch" && !compiled_in().contains(&"tch") {
            assert_eq!(row["status"], "skipped", "{row:?}");
            continue;
        }
        assert_eq!(row["status"], "measured", "{row:?}");
        let precision = row["precision"].as_str();
        let (worst, mean) = (num(row, "acc_cosine"), num(row, "acc_cosine_mean"));
        assert!(worst >= min_cosine(precision), "{row:?}");
        assert!(mean >= worst && mean <= 1.0 + 1e-12, "{row:?}");
        if precision == "f32" {
            assert!(num(row, "acc_max_abs") < 1e-4, "{row:?}");
            assert!(num(row, "acc_rel_l2") < 1e-4, "{row:?}");
        }
        // Sentences per second is batch / latency; tokens count real ones.
        let batch = num(row, "batch");
        let latency_s = num(row, "latency_mean_ms") * 1e-3;
        assert!((num(row, "throughput_seq_per_s") * latency_s - batch).abs() < 1e-6 * batch);
        let padding = num(row, "padding_share");
        // One sentence alone is never padded; four of different lengths are.
        if batch == 1.0 {
            assert_eq!(padding, 0.0, "{row:?}");
        } else {
            assert!(padding > 0.0 && padding < 1.0, "{row:?}");
        }
        assert!(num(row, "weight_bytes") > 0.0, "{row:?}");
    }
}

#[test]
fn a_bad_checkpoint_is_a_located_error() {
    let tmp = tempfile::tempdir().unwrap();
    let scenario = tmp.path().join("bad.toml");
    fs::write(
        tmp.path().join("config.json"),
        r#"{"model_type": "gpt_neox"}"#,
    )
    .unwrap();
    fs::write(&scenario, "backends = 'candle'\n[model]\nhf = '.'\n").unwrap();
    let out = tmp.path().join("runs");
    run(tmp.path(), &scenario, &out)
        .arg("--quick")
        .assert()
        .code(1);
    let rows = read_csv(&run_dir(&out).join("results.csv"));
    assert_eq!(rows[0]["status"], "error");
    assert!(
        rows[0]["message"].contains(
            "config.json: model_type `gpt_neox` is not supported; supported: llama, qwen2, mistral"
        ),
        "{:?}",
        rows[0]
    );
    // Two sources for one model are refused before anything runs.
    fs::write(
        &scenario,
        "backends = 'candle'\n[model]\nhf = '.'\ngguf = 'x.gguf'\n",
    )
    .unwrap();
    inferbench(tmp.path())
        .args(["validate", scenario.to_str().unwrap()])
        .assert()
        .failure()
        .stderr(contains("a model has one source"));
}

/// scenarios/overhead.toml (the null backend, which computes nothing) runs
/// end to end and its results carry every figure the book's "Harness
/// overhead" page quotes, which ci/overhead_table.py turns into its table.
#[test]
fn the_overhead_scenario_reports_the_harness_figures() {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/overhead.toml");
    let (_tmp, dir) = quick_run(&file);
    let run: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(dir.join("results.json")).unwrap()).unwrap();
    let cases = run["cases"].as_array().unwrap();
    let mut patterns = Vec::new();
    for case in cases {
        assert_eq!(case["status"], "measured", "{case}");
        let (start, load_start) = (
            &case["started_at_unix_ns"],
            &case["load_started_at_unix_ns"],
        );
        assert!(
            load_start.as_u64().unwrap() > start.as_u64().unwrap(),
            "{case}"
        );
        assert!(case["load_ms"].as_f64().unwrap() >= 0.0);
        match case["generation"]["pattern"].as_str() {
            Some(pattern) => {
                patterns.push(pattern.to_string());
                assert!(case["generation"]["output_tokens"].as_u64().unwrap() > 0);
            }
            None => {
                let wall = case["samples_ns"].as_array().unwrap();
                assert!(!wall.is_empty(), "{case}");
                assert_eq!(case["cpu_samples_ns"].as_array().unwrap().len(), wall.len());
            }
        }
    }
    patterns.sort();
    assert_eq!(
        patterns,
        [
            "concurrency",
            "concurrency",
            "offline",
            "server",
            "single_stream"
        ]
    );
    let reference = cases.iter().find(|c| c["case"]["group"] == "reference");
    let reference = reference.expect("a reference case");
    assert!(reference["accuracy_ms"].as_f64().unwrap() > 0.0);
    assert!(
        reference["accuracy"]["rel_l2"].as_f64().unwrap() > 0.5,
        "zeros are not logits"
    );

    let table = std::process::Command::new("python3")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("../ci/overhead_table.py"))
        .arg(&dir)
        .output()
        .unwrap();
    let table = String::from_utf8_lossy(&table.stdout);
    assert_eq!(table.matches("\n| ").count(), 1 + cases.len(), "{table}");
    assert!(table.contains("| forward | loop "), "{table}");
    assert!(table.contains("| generation/server | TPOT p50 "), "{table}");
}
