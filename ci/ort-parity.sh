#!/usr/bin/env bash
# Does the inferbench ORT adapter add anything to ONNX Runtime itself?
# Runs the same .onnx file (by default the synthetic GPT inferbench
# exports; `MODEL=path/to/any.onnx VOCAB=n` for any other, e.g. the MiniLM
# encoder inferbench writes into its cache), with the
# same threads and session settings, through Python onnxruntime's
# `InferenceSession.run` and through `inferbench run`, alternating the two
# for several rounds so machine noise hits both alike, and prints the ratio
# of p50 latencies inferbench/python (target <= 1.02).
#
#   bash ci/ort-parity.sh            # defaults below; override by env:
#   ROUNDS=9 ITERS=150 THREADS=1 BATCH=1 SEQ=64 bash ci/ort-parity.sh
#   MODEL=$HOME/.cache/inferbench/.../bert-....onnx VOCAB=30522 SEQ=128 bash ci/ort-parity.sh
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-9} ITERS=${ITERS:-150} WARMUP=${WARMUP:-20}
THREADS=${THREADS:-1} BATCH=${BATCH:-1} SEQ=${SEQ:-64}
VOCAB=${VOCAB:-2048} WORK=vendor/parity

bash ci/setup.sh >/dev/null
VENV=vendor/venv-ort
if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c "import onnxruntime" 2>/dev/null; then
    echo "== installing Python onnxruntime 1.32.0 into $VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet onnxruntime==1.32.0 numpy
fi
cargo build --release --quiet -p inferbench
BIN=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')/release/inferbench
mkdir -p "$WORK"

# 1. Export the synthetic GPT once (a quick run writes the .onnx into the
#    cache), unless a model file is given.
if [ -z "${MODEL:-}" ]; then
cat > "$WORK/export.toml" <<TOML
backends = "ort"
batch = 1
seq_len = 8
threads = 1
[model]
vocab_size = $VOCAB
hidden = 256
layers = 4
heads = 8
max_seq = 256
TOML
"$BIN" run "$WORK/export.toml" --quick --out "$WORK/runs" --cache-dir "$WORK/cache" >/dev/null
MODEL=$(find "$(pwd)/$WORK/cache" -name 'synthetic-gpt-*.onnx' | head -n 1)
fi
MODEL=$(realpath "$MODEL")
echo "model: $MODEL"

# 2. The same file as a user model file for inferbench.
cat > "$WORK/parity.toml" <<TOML
backends = "ort"
batch = $BATCH
seq_len = $SEQ
threads = $THREADS
[model]
file = "$MODEL"
vocab_size = $VOCAB
[warmup]
iterations = $WARMUP
seconds = 0.0
[measurement]
min_iterations = $ITERS
max_iterations = $ITERS
min_seconds = 0.0
max_seconds = 600.0
TOML

for round in $(seq 1 "$ROUNDS"); do
    "$VENV/bin/python" ci/ort_parity.py "$MODEL" --threads "$THREADS" --batch "$BATCH" \
        --seq-len "$SEQ" --vocab "$VOCAB" --warmup "$WARMUP" --iterations "$ITERS" \
        > "$WORK/python-$round.json"
    rm -rf "$WORK/runs"
    "$BIN" run "$WORK/parity.toml" --out "$WORK/runs" --cache-dir "$WORK/cache" \
        >/dev/null 2>"$WORK/inferbench-$round.log"
    cp "$(ls -d "$WORK"/runs/*/ | head -n 1)results.json" "$WORK/inferbench-$round.json"
done

python3 - "$WORK" "$ROUNDS" <<'PY'
import json, statistics, sys
work, rounds = sys.argv[1], int(sys.argv[2])
print(f"{'round':>5} {'python p50 ms':>14} {'inferbench p50 ms':>18} {'ratio':>7}")
py_all, ib_all, ratios = [], [], []
for r in range(1, rounds + 1):
    py = json.load(open(f"{work}/python-{r}.json"))
    ib = json.load(open(f"{work}/inferbench-{r}.json"))["cases"][0]
    assert ib["status"] == "measured", ib["message"]
    py_ms = py["samples_ms"]
    ib_ms = [s / 1e6 for s in ib["samples_ns"]]
    p, i = statistics.median(py_ms), statistics.median(ib_ms)
    py_all += py_ms; ib_all += ib_ms; ratios.append(i / p)
    print(f"{r:>5} {p:>14.4f} {i:>18.4f} {i / p:>7.4f}")
p, i = statistics.median(py_all), statistics.median(ib_all)
print(f"pooled p50: python {p:.4f} ms (onnxruntime {py['version']}), inferbench {i:.4f} ms")
print(f"load average during the run: {open('/proc/loadavg').read().split()[:3]} on {__import__('os').cpu_count()} cores")
print(f"p50 ratio inferbench/python: {i / p:.4f} (median of per-round ratios {statistics.median(ratios):.4f}; target <= 1.02)")
PY
