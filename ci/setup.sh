#!/usr/bin/env bash
# Installs everything inferbench's build and tests need that cargo does not
# fetch itself. Idempotent: each step is skipped when its result is present.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v cargo >/dev/null; then
    echo "error: cargo not found; install a Rust toolchain (rustup) first" >&2
    exit 1
fi

# --- ONNX Runtime (backend `ort`) -------------------------------------------
# The shared library from PyPI's onnxruntime wheel (a zip); no Python is
# needed at run time. inferbench finds it in vendor/onnxruntime/ unless
# `--ort-lib` or ORT_DYLIB_PATH says otherwise.
ORT_VERSION=1.32.0
ORT_DIR=vendor/onnxruntime
if [ ! -f "$ORT_DIR/libonnxruntime.so.$ORT_VERSION" ]; then
    echo "== fetching onnxruntime $ORT_VERSION into $ORT_DIR"
    mkdir -p vendor/cache "$ORT_DIR"
    python3 -m pip download --quiet --no-deps --only-binary=:all: \
        --python-version 3.11 --platform manylinux_2_28_x86_64 \
        "onnxruntime==$ORT_VERSION" -d vendor/cache
    wheel=$(ls vendor/cache/onnxruntime-"$ORT_VERSION"-*.whl | head -n 1)
    python3 - "$wheel" "$ORT_DIR" <<'PY'
import sys, zipfile, os, shutil
wheel, dest = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(wheel) as z:
    for name in z.namelist():
        base = os.path.basename(name)
        if name.startswith("onnxruntime/capi/") and base.startswith("libonnxruntime.so"):
            with z.open(name) as src, open(os.path.join(dest, base), "wb") as out:
                shutil.copyfileobj(src, out)
PY
    ln -sf "libonnxruntime.so.$ORT_VERSION" "$ORT_DIR/libonnxruntime.so"
fi
# --- end ONNX Runtime ----------------------------------------------------------
