#!/usr/bin/env bash
# Measures the regression gate's quality on this machine: PAIRS A/A
# comparisons (identical code: every regression verdict is a false alarm)
# and PAIRS A/B comparisons (a real 5% slowdown injected by a busy-wait in
# each measured pass: every regression verdict is a detection).
#
# Design: each comparison runs BLOCKS short runs per side, alternating the
# sides (A B, B A, A B, ...), and `inferbench compare` pools each side's
# runs. Interleaving gives both sides the same share of the machine's
# drift (other jobs, frequency changes), which separate back-to-back runs
# do not.
#
# Usage: ci/gate-calibration.sh [PAIRS] [SLOWDOWN_PCT] [BLOCKS]
#   defaults 20 5 12; INFERBENCH_BIN overrides the binary; KEEP=1 keeps the
#   work folder. Takes about 40 s per comparison (most of it starting processes).
set -euo pipefail
cd "$(dirname "$0")/.."

pairs=${1:-20}
slowdown=${2:-5}
blocks=${3:-12}
scenario=ci/gate-calibration.toml

work=$(mktemp -d "${TMPDIR:-/tmp}/gate-calibration.XXXXXX")
[ "${KEEP:-0}" = 1 ] || trap 'rm -rf "$work"' EXIT

if [ -z "${INFERBENCH_BIN:-}" ]; then
    built=$(cargo build -q -p inferbench --message-format=json |
        python3 -c 'import json,sys
for l in sys.stdin:
    m = json.loads(l)
    if m.get("executable"): print(m["executable"])')
    # A private copy: a rebuild during the calibration must not swap it.
    cp "$built" "$work/inferbench"
    INFERBENCH_BIN=$work/inferbench
fi
export INFERBENCH_CACHE_DIR=${INFERBENCH_CACHE_DIR:-$work/cache}

block() { # block OUT PCT
    "$INFERBENCH_BIN" run "$scenario" --out "$1" --no-history \
        --inject-slowdown "$2" >"$1.log" 2>&1 ||
        { echo "error: a run failed; its output:" >&2; cat "$1.log" >&2; exit 2; }
}

# Seconds of measured loop in a side's run folders.
measured_seconds() {
    python3 - "$@" <<'PY'
import json, sys, pathlib
total = 0.0
for side in sys.argv[1:]:
    for f in pathlib.Path(side).glob("*/results.json"):
        total += sum(c["measure_ms"] for c in json.loads(f.read_text())["cases"])
print(f"{total / 1000:.1f}")
PY
}

# The p5 and p50 changes with their intervals from a verdict file.
p50_change() {
    python3 - "$1" <<'PY'
import json, sys
case = json.load(open(sys.argv[1]))["cases"][0]
out = []
for m in case["metrics"][:2]:
    lo, hi = m["interval"]
    out.append(f"{m['metric'][8:]} {m['change']:+6.2f}% [{lo:+.2f}, {hi:+.2f}]")
print("  ".join(out))
PY
}

compare_once() { # compare_once LABEL INDEX PCT → prints a line, returns 1 on regression
    local dir="$work/${1//\//}-$2" a b i started rc=0
    mkdir -p "$dir"
    a="$dir/A" b="$dir/B"
    started=$(date +%s)
    for i in $(seq "$blocks"); do
        if ((i % 2)); then block "$a" 0; block "$b" "$3"; else block "$b" "$3"; block "$a" 0; fi
    done
    "$INFERBENCH_BIN" compare "$a" "$b" --json "$dir/verdict.json" >"$dir/compare.txt" || rc=$?
    if ((rc > 1)); then cat "$dir/compare.txt" >&2; exit 2; fi
    printf '%s %2d: %-9s %s  measured %s s, wall %d s\n' "$1" "$2" \
        "$( ((rc == 1)) && echo regressed || echo ok)" "$(p50_change "$dir/verdict.json")" \
        "$(measured_seconds "$a" "$b")" $(($(date +%s) - started))
    return $rc
}

echo "gate calibration: $pairs A/A and $pairs A/B (+$slowdown%) comparisons, $blocks interleaved blocks a side"
echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
false_alarms=0
detections=0
for i in $(seq "$pairs"); do
    compare_once A/A "$i" 0 || false_alarms=$((false_alarms + 1))
    compare_once A/B "$i" "$slowdown" || detections=$((detections + 1))
done
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "false alarms: $false_alarms/$pairs A/A (target ≤ 1)"
echo "detections:   $detections/$pairs A/B with +$slowdown% (target ≥ $((pairs - 1)))"
[ "$false_alarms" -le 1 ] && [ "$detections" -ge $((pairs - 1)) ]
