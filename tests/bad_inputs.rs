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

use std::fs;
use std::path::{Path, PathBuf};

use assert_cmd::Command;

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/bad_inputs")
}

/// `(command, exit code, fragment)` from a file's header.
fn expectations(path: &Path) -> Vec<(String, i32, String)> {
    // Lossy: a file of the corpus may be invalid UTF-8 past its header.
    let text = String::from_utf8_lossy(&fs::read(path).unwrap()).into_owned();
    text.lines()
        .take_while(|l| l.starts_with('#'))
        .filter_map(|l| {
            let (command, rest) = l.trim_start_matches('#').trim().split_once(':')?;
            // Other comment lines explain the defect.
            if command != "validate" && command != "run" {
                return None;
            }
            let (code, fragment) = rest.trim().split_once(' ')?;
            let fragment = fragment.trim().trim_matches('"');
            Some((
                command.to_string(),
                code.parse().unwrap(),
                fragment.to_string(),
            ))
        })
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
