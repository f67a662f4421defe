//! The versions the project pins, read from the one place each is pinned,
//! so tests never carry a copy that could drift: ONNX Runtime and PyTorch in
//! `ci/setup.sh` (what it downloads), candle in the workspace `Cargo.toml`.

use std::path::Path;

fn read(relative: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The value of `NAME=value` in ci/setup.sh.
fn setup_variable(name: &str) -> String {
    let text = read("ci/setup.sh");
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{name}=")))
        .unwrap_or_else(|| panic!("ci/setup.sh sets no {name}"))
        .trim()
        .trim_matches('"')
        .to_string()
}

pub fn ort_version() -> String {
    setup_variable("ORT_VERSION")
}

#[allow(dead_code)] // used only by builds with the tch feature
pub fn torch_version() -> String {
    setup_variable("TORCH_VERSION")
}

/// `candle-core = "=X"` in the workspace Cargo.toml.
pub fn candle_version() -> String {
    let text = read("Cargo.toml");
    text.lines()
        .find_map(|l| l.strip_prefix("candle-core = \"="))
        .and_then(|rest| rest.split('"').next())
        .expect("Cargo.toml pins candle-core = \"=X\"")
        .to_string()
}

#[allow(dead_code)] // used only by the docs test
pub fn mdbook_version() -> String {
    setup_variable("MDBOOK_VERSION")
}

#[allow(dead_code)] // used only by the sharding test
pub fn kubernetes_validate_version() -> String {
    setup_variable("KUBERNETES_VALIDATE_VERSION")
}

#[allow(dead_code)] // used only by the sharding test
pub fn actionlint_version() -> String {
    setup_variable("ACTIONLINT_VERSION")
}
