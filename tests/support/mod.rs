//! Helpers shared by the integration tests.

use std::path::{Path, PathBuf};

/// The newest run folder `inferbench run --out OUT` wrote (names start
/// with the UTC start time, so the last in order).
#[allow(dead_code)] // telemetry.rs shares the module and does not use it
pub fn newest_run(out: &Path) -> PathBuf {
    let mut runs: Vec<PathBuf> = std::fs::read_dir(out)
        .unwrap_or_else(|e| panic!("{}: {e}", out.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    runs.sort();
    runs.pop()
        .unwrap_or_else(|| panic!("no run folder in {}", out.display()))
}

/// The rows of a `results.csv`, each column by name.
#[allow(dead_code)] // not every test crate sharing the module reads CSV
pub fn read_csv(path: &Path) -> Vec<std::collections::HashMap<String, String>> {
    let mut reader = csv::Reader::from_path(path).unwrap();
    let headers = reader.headers().unwrap().clone();
    reader
        .records()
        .map(|r| {
            headers
                .iter()
                .map(String::from)
                .zip(r.unwrap().iter().map(String::from))
                .collect()
        })
        .collect()
}

/// The repository's root folder (the harness crate's parent).
#[allow(dead_code)] // not every test crate sharing the module needs it
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A number column of a results row; panics naming the column and the row.
#[allow(dead_code)]
pub fn num(row: &std::collections::HashMap<String, String>, col: &str) -> f64 {
    row[col]
        .parse()
        .unwrap_or_else(|_| panic!("{col} = {:?} in {row:?}", row[col]))
}

/// The backends of the test scenarios that this build measures rather
/// than skips (ONNX Runtime comes from ci/setup.sh, which the tests
/// require; libtorch only with the `tch` feature).
#[allow(dead_code)]
pub fn compiled_in() -> &'static [&'static str] {
    if cfg!(feature = "tch") {
        &["candle", "ort", "tch"]
    } else {
        &["candle", "ort"]
    }
}

/// `path`, a program `ci/setup.sh` builds (llama.cpp's), if it is there.
/// Missing, it is a skip that says loudly what did not run (`skipped`) -
/// unless `INFERBENCH_REQUIRE_LLAMA_SERVER` is set, as ci/test.sh sets it
/// after ci/setup.sh: there a missing program is a failure.
#[allow(dead_code)]
pub fn built_by_setup(path: PathBuf, skipped: &str) -> Option<PathBuf> {
    if path.is_file() {
        return Some(path);
    }
    if std::env::var_os("INFERBENCH_REQUIRE_LLAMA_SERVER").is_some() {
        panic!(
            "{} is missing; `bash ci/setup.sh` builds it",
            path.display()
        );
    }
    eprintln!(
        "\n!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n\
         SKIPPED: {} is missing, so {skipped}.\n\
         Run `bash ci/setup.sh` (it builds llama.cpp).\n\
         !!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n",
        path.display()
    );
    None
}

pub mod chromium;
pub mod dashboard;
pub mod llama_server;
pub mod receivers;
pub mod rotel_output;

/// A verdict case's metric by name (never by position: the list's order
/// is not part of the format).
#[allow(dead_code)]
pub fn metric<'a>(case: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    case["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["metric"] == name)
        .unwrap_or_else(|| panic!("no metric {name} in {case}"))
}
