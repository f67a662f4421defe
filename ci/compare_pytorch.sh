#!/usr/bin/env bash
# Compares inferbench's tch backend with Python PyTorch eager mode on the
# synthetic GPT (see ci/compare_pytorch.py). Not part of ci/test.sh: it
# installs the full torch 2.13.0 into a venv in the cache (≈4.7 GB: the PyPI
# wheel's Python bindings link the CUDA libraries even to run on CPU), shared
# with ci/compare_transformers.sh.
# Arguments go to compare_pytorch.py, e.g. `--batch 8` or `--precision bf16`.
set -euo pipefail
cd "$(dirname "$0")/.."

bash ci/setup.sh
VENV=$(bash ci/torch-venv.sh)
echo "== building inferbench with the tch backend (release)"
# Cargo names the binary it built (a target dir may be configured anywhere).
bin=$(cargo build --release --features inferbench/tch --message-format=json-render-diagnostics |
    python3 -c 'import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "inferbench" and m.get("executable"):
        print(m["executable"])')
if ! "$bin" backends | grep -q '^tch *ready'; then
    echo "error: $bin has no working tch backend:" >&2
    "$bin" backends >&2
    exit 1
fi
python3 ci/compare_pytorch.py --inferbench "$bin" --python "$VENV/bin/python" "$@"
