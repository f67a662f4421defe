#!/usr/bin/env bash
# The CI regression gate: runs scenarios/ci.toml in BLOCKS short runs and
# gates the pooled runs (a) against the committed baseline
# results/baselines/ci.json and (b), when INFERBENCH_BASE_BIN names the base
# commit's build, against that build run interleaved with this one on the
# same machine (A B, B A, ...: both share the machine's drift; see the
# README's calibration). Reports go to OUT: summary.md (for
# $GITHUB_STEP_SUMMARY), junit*.xml, verdict*.json, plots*/.
#
# Usage: ci/gate.sh [OUT=gate] [BLOCKS=8]
#   INFERBENCH_BIN      the candidate binary (default: cargo build --release)
#   INFERBENCH_BASE_BIN the base commit's binary (optional)
# Exit: 0 no regression, 1 regression, 2 input or run error.
# To refresh the baseline: ci/gate.sh, then
#   inferbench baseline save ci OUT/runs/candidate
set -euo pipefail
cd "$(dirname "$0")/.."

out=${1:-gate}
blocks=${2:-8}
scenario=scenarios/ci.toml

if [ -z "${INFERBENCH_BIN:-}" ]; then
    cargo build -q --release -p inferbench
    INFERBENCH_BIN=target/release/inferbench
    [ -x "$INFERBENCH_BIN" ] || INFERBENCH_BIN=${CARGO_TARGET_DIR:-target}/release/inferbench
fi
rm -rf "$out"
mkdir -p "$out/runs"

block() { # block BIN OUT
    "$1" run "$scenario" --out "$2" >>"$out/runs/log.txt" 2>&1 ||
        { echo "error: a benchmark run failed; see $out/runs/log.txt" >&2; tail -20 "$out/runs/log.txt" >&2; exit 2; }
}

for i in $(seq "$blocks"); do
    if [ -n "${INFERBENCH_BASE_BIN:-}" ] && ((i % 2 == 0)); then
        block "$INFERBENCH_BASE_BIN" "$out/runs/base"
    fi
    block "$INFERBENCH_BIN" "$out/runs/candidate"
    if [ -n "${INFERBENCH_BASE_BIN:-}" ] && ((i % 2 == 1)); then
        block "$INFERBENCH_BASE_BIN" "$out/runs/base"
    fi
done

worst=0
gate() { # gate LABEL BASE → compares BASE with the pooled candidate runs
    local code=0
    echo "== $1"
    "$INFERBENCH_BIN" compare "$2" "$out/runs/candidate" \
        --markdown "$out/summary-$1.md" --junit "$out/junit-$1.xml" \
        --json "$out/verdict-$1.json" --plots "$out/plots-$1" || code=$?
    ((code > worst)) && worst=$code
    return 0
}
gate baseline ci
if [ -n "${INFERBENCH_BASE_BIN:-}" ]; then
    gate base-commit "$out/runs/base"
fi
cat "$out"/summary-*.md >"$out/summary.md"
exit "$worst"
