//! The bad-input corpus: every scenario in `tests/bad_inputs/` is given to
//! `validate` and to `run --quick`, and each must end with the exit code and
//! print the message fragment its header names. One file per defect found,
//! so a defect that comes back fails here by name.
//!
//! Header lines (TOML comments at the top of each file):
//! ```text
//! # validate: EXIT "fragment"
//! # run: EXIT "fragment"
//! ```
//! The fragment is looked for in stdout and stderr together.
//!
//! The gate's inputs are there too, with the same lines (without `#`) in
//! a file of expectations beside them:
//! - `compare/NAME/`: `inferbench compare NAME/base NAME/candidate`, each a
//!   run folder, expectations in `NAME/expect`;
//! - `history/NAME.jsonl`: `inferbench history --file history/NAME.jsonl`,
//!   expectations in `history/NAME.expect`.

use std::fs;
use std::path::{Path, PathBuf};

use assert_cmd::Command;

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/bad_inputs")
}

/// `command: EXIT "fragment"` as `(command, exit code, fragment)`; `None`
/// for any other line (comments explaining the defect).
fn expectation(line: &str) -> Option<(String, i32, String)> {
    let (command, rest) = line.trim_start_matches('#').trim().split_once(':')?;
    if !["validate", "run", "compare", "history"].contains(&command) {
        return None;
    }
    let (code, fragment) = rest.trim().split_once(' ')?;
    let fragment = fragment.trim().trim_matches('"');
    Some((
        command.to_string(),
        code.parse().ok()?,
        fragment.to_string(),
    ))
}

/// `(command, exit code, fragment)` from a scenario's header.
fn expectations(path: &Path) -> Vec<(String, i32, String)> {
    // Lossy: a file of the corpus may be invalid UTF-8 past its header.
    let text = String::from_utf8_lossy(&fs::read(path).unwrap()).into_owned();
    text.lines()
        .take_while(|l| l.starts_with('#'))
        .filter_map(expectation)
        .collect()
}

fn run(command: &str, scenario: &Path, tmp: &Path) -> (i32, String) {
    let mut cmd = Command::cargo_bin("inferbench").unwrap();
    cmd.env("INFERBENCH_CACHE_DIR", tmp.join("cache"))
        .current_dir(tmp)
        .timeout(std::time::Duration::from_secs(300));
    match command {
        "validate" => cmd.arg("validate").arg(scenario),
        "run" => cmd
            .args(["run", "--quick", "--no-history", "--out"])
            .arg(tmp.join("runs"))
            .arg(scenario),
        other => panic!("unknown command `{other}` in {}", scenario.display()),
    };
    exit_and_output(&mut cmd)
}

/// The command's exit code (-1 when a signal ended it) and all it printed.
fn exit_and_output(cmd: &mut Command) -> (i32, String) {
    let out = cmd.output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

#[test]
fn every_bad_input_gets_its_exit_code_and_message() {
    let mut files: Vec<PathBuf> = fs::read_dir(corpus())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    assert!(files.len() >= 10, "the corpus has {} files", files.len());
    let mut failures = Vec::new();
    for file in &files {
        let expected = expectations(file);
        assert!(
            expected.iter().any(|(c, ..)| c == "validate")
                && expected.iter().any(|(c, ..)| c == "run"),
            "{}: needs `# validate:` and `# run:` header lines",
            file.display()
        );
        for (command, code, fragment) in expected {
            let tmp = tempfile::tempdir().unwrap();
            let (got, text) = run(&command, file, tmp.path());
            if got != code || !text.contains(&fragment) {
                failures.push(format!(
                    "{} `{command}`: expected exit {code} with {fragment:?}, got {got}:\n{text}",
                    file.file_name().unwrap().to_string_lossy()
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// Runs `inferbench ARGS` in `dir`; its exit code and all it printed.
fn inferbench_in(dir: &Path, args: &[&str]) -> (i32, String) {
    let mut cmd = Command::cargo_bin("inferbench").unwrap();
    cmd.args(args)
        .current_dir(dir)
        .timeout(std::time::Duration::from_secs(120));
    exit_and_output(&mut cmd)
}

/// The gate's bad inputs: runs that cannot be compared, or only with a
/// warning, and history files a crash or a hand edit damaged.
#[test]
fn every_bad_gate_input_gets_its_exit_code_and_message() {
    let root = corpus();
    let mut checks: Vec<(PathBuf, Vec<String>)> = Vec::new();
    for entry in fs::read_dir(root.join("compare")).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        let args = [
            "compare",
            &format!("compare/{name}/base"),
            &format!("compare/{name}/candidate"),
        ];
        checks.push((
            root.join("compare").join(&name).join("expect"),
            args.map(String::from).to_vec(),
        ));
    }
    for entry in fs::read_dir(root.join("history")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "jsonl") {
            let file = format!("history/{}", path.file_name().unwrap().to_string_lossy());
            checks.push((
                path.with_extension("expect"),
                vec!["history".into(), "--file".into(), file],
            ));
        }
    }
    assert!(checks.len() >= 5, "{} gate inputs", checks.len());
    let mut failures = Vec::new();
    for (expect, args) in &checks {
        let text =
            fs::read_to_string(expect).unwrap_or_else(|e| panic!("{}: {e}", expect.display()));
        let expected: Vec<_> = text.lines().filter_map(expectation).collect();
        assert!(!expected.is_empty(), "{}: no expectation", expect.display());
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (got, text) = inferbench_in(&root, &args);
        for (command, code, fragment) in expected {
            assert_eq!(command, args[0], "{}", expect.display());
            if got != code || !text.contains(&fragment) {
                failures.push(format!(
                    "{}: expected exit {code} with {fragment:?}, got {got}:\n{text}",
                    expect.display()
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
