#!/usr/bin/env bash
# Compares inferbench's reading of SmolLM2 (GGUF -> HF folder, tokenizer,
# f64 reference logits and greedy text) with Python `transformers` loading
# the derived folder (see ci/compare_transformers.py). Not part of
# ci/test.sh: it installs torch and transformers into a venv in the cache.
set -euo pipefail
cd "$(dirname "$0")/.."

bash ci/setup.sh
VENV=$(bash ci/torch-venv.sh)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
echo "== our side: derived folder, f64 reference logits and greedy ids"
cargo run --quiet -p inferbench-reference --example llama_logits -- "$out/ours.json"
echo "== transformers"
"$VENV/bin/python" ci/compare_transformers.py "$out/ours.json" "$@"
