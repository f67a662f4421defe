#!/usr/bin/env bash
# The README's test command: installs what the tests need, then runs the
# format check, clippy and every test. Works on a fresh machine.
set -euo pipefail
cd "$(dirname "$0")/.."

bash ci/setup.sh

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy -D warnings"
cargo clippy --workspace --all-targets -- -D warnings
echo "== cargo test"
cargo test --workspace
