#!/usr/bin/env bash
# Prints the path of a Python venv with torch 2.13.0 and transformers, for
# the comparison scripts (ci/compare_pytorch.sh, ci/compare_transformers.sh);
# installs it into the cache once. Not part of ci/test.sh.
set -euo pipefail
cache="${INFERBENCH_CACHE:-$HOME/.cache/inferbench}"
venv="$cache/torch-venv-2.13.0"
if ! "$venv/bin/python" -c 'import torch, transformers' 2>/dev/null; then
    echo "== installing torch 2.13.0 and transformers into $venv" >&2
    python3 -m venv "$venv"
    # --find-links reuses the torch wheel ci/setup.sh downloaded.
    "$venv/bin/pip" install --quiet --disable-pip-version-check \
        --find-links "$cache/pypi" torch==2.13.0 transformers safetensors numpy >&2
fi
echo "$venv"
