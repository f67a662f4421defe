#!/usr/bin/env bash
# The README's test command: installs what the tests need, then runs the
# format check, clippy and every test. Works on a fresh machine.
set -euo pipefail
cd "$(dirname "$0")/.."

# CI once failed with a full disk: the free space and the build's size after
# each stage show in the log which stage took it.
disk() {
    local target="${CARGO_TARGET_DIR:-target}" size="none yet"
    [ -d "$target" ] && size=$(du -sh "$target" | cut -f1)
    echo "== disk:$(df -h --output=avail . | tail -1) free; target $size"
}
trap disk EXIT

bash ci/setup.sh
disk

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy -D warnings"
cargo clippy --workspace --all-targets -- -D warnings
disk
echo "== cargo test"
# tests/endpoint.rs runs against the llama-server that setup.sh built; here
# a missing one fails instead of skipping.
export INFERBENCH_REQUIRE_LLAMA_SERVER=1
# tests/docs.rs builds the book with the mdbook setup.sh installed; here a
# missing one fails instead of skipping.
export INFERBENCH_REQUIRE_MDBOOK=1
# tests/shard.rs checks the sharding configurations with the validators
# setup.sh installed; here a missing one fails instead of skipping.
export INFERBENCH_REQUIRE_VALIDATORS=1
cargo test --workspace
disk
# The harness's criterion benches (harness/benches/) compile and link; run
# with `cargo bench` they measure, which CI leaves to people. Shares the
# debug build above: about 20 s more.
echo "== cargo test --benches --no-run"
cargo test --workspace --benches --no-run

# ---- libtorch (tch backend) -------------------------------------------------
# Again with the libtorch backend compiled in (ci/setup.sh assembled
# vendor/libtorch). Only the harness and the tch crate change with the
# feature; torch-sys's C++ shim takes ~2 minutes once.
echo "== cargo clippy --features inferbench/tch -D warnings"
cargo clippy --workspace --all-targets --features inferbench/tch -- -D warnings
disk
# Only the tests whose outcome the feature changes run again: every test of
# the tch crate, and every harness test but those below, which do not depend
# on which backends are compiled in and ran above (saves ~5 of CI's
# minutes). The targets are read from the manifests, so a new test runs here
# unless it is added to this list.
backend_independent="endpoint gate monitor report telemetry"
tch_tests=()
for name in $(awk '/^\[\[test\]\]/ { t = 1; next } t && /^name/ { gsub(/.*= *"|"/, ""); print; t = 0 }' harness/Cargo.toml) \
    $(basename -s .rs backends/tch/tests/*.rs); do
    [[ " $backend_independent " == *" $name "* ]] || tch_tests+=(--test "$name")
done
echo "== cargo test --features inferbench/tch (inferbench, inferbench-tch)"
cargo test -p inferbench -p inferbench-tch --features inferbench/tch \
    --lib --bins "${tch_tests[@]}"
# ---- end libtorch -----------------------------------------------------------
