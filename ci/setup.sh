#!/usr/bin/env bash
# Installs everything inferbench's build and tests need that cargo does not
# fetch itself. Idempotent: each step is skipped when its result is present.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v cargo >/dev/null; then
    echo "error: cargo not found; install a Rust toolchain (rustup) first" >&2
    exit 1
fi

# ---- libtorch (tch backend) -------------------------------------------------
# A lean CPU libtorch for the `tch` cargo feature, assembled from PyPI wheels
# (no Python at build time): headers plus libtorch_cpu, libc10, libgomp, and
# the two CUDA stubs libtorch_cpu links against (libcudart, libcupti). The
# wheel's real libtorch.so pulls in libtorch_cuda (470 MB, plus cuBLAS/cuDNN),
# so an empty stub takes its place: tch links `-ltorch` by name only.
# `tch = "=0.26.0"` is built against exactly PyTorch 2.13.0 (torch-sys checks
# `build-version`). `.cargo/config.toml` points LIBTORCH here; the default
# build never reads it. Wheels stay in vendor/wheels so reruns skip downloads.
TORCH_VERSION=2.13.0
LIBTORCH_DIR=vendor/libtorch
TORCH_WHEELS=vendor/wheels
if [ "$(cat "$LIBTORCH_DIR/build-version" 2>/dev/null)" != "$TORCH_VERSION" ]; then
    echo "== assembling libtorch $TORCH_VERSION (CPU) into $LIBTORCH_DIR"
    mkdir -p "$TORCH_WHEELS"
    if ! ls "$TORCH_WHEELS"/torch-"$TORCH_VERSION"-*.whl >/dev/null 2>&1 ||
        ! ls "$TORCH_WHEELS"/nvidia_cuda_runtime-*.whl >/dev/null 2>&1 ||
        ! ls "$TORCH_WHEELS"/nvidia_cuda_cupti-*.whl >/dev/null 2>&1; then
        python3 -m pip download --quiet --no-deps --dest "$TORCH_WHEELS" \
            "torch==$TORCH_VERSION" nvidia-cuda-runtime==13.0.96 nvidia-cuda-cupti==13.0.85
    fi
    staging="$LIBTORCH_DIR.partial"
    rm -rf "$staging" && mkdir -p "$staging/lib"
    python3 - "$staging" "$TORCH_WHEELS" "$TORCH_VERSION" <<'PY'
import glob, os, shutil, sys, zipfile
staging, wheels, version = sys.argv[1:]
def extract(wheel, keep):
    with zipfile.ZipFile(wheel) as z:
        for name in z.namelist():
            target = keep(name)
            if target is None or name.endswith("/"):
                continue
            path = os.path.join(staging, target)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with z.open(name) as src, open(path, "wb") as dst:
                shutil.copyfileobj(src, dst)
torch_libs = {"libtorch_cpu.so", "libc10.so", "libgomp.so.1"}
def from_torch(name):
    if name.startswith("torch/include/"):
        return name[len("torch/"):]
    if name.startswith("torch/lib/") and os.path.basename(name) in torch_libs:
        return "lib/" + os.path.basename(name)
def from_nvidia(name):
    base = os.path.basename(name)
    if base in ("libcudart.so.13", "libcupti.so.13"):
        return "lib/" + base
[torch_wheel] = glob.glob(os.path.join(wheels, f"torch-{version}-*.whl"))[:1]
extract(torch_wheel, from_torch)
for wheel in glob.glob(os.path.join(wheels, "nvidia_cuda_*.whl")):
    extract(wheel, from_nvidia)
for lib in torch_libs | {"libcudart.so.13", "libcupti.so.13"}:
    if not os.path.exists(os.path.join(staging, "lib", lib)):
        sys.exit(f"error: {lib} missing from the wheels in {wheels}")
PY
    gcc -shared -fPIC -o "$staging/lib/libtorch.so" -x c /dev/null
    echo "$TORCH_VERSION" >"$staging/build-version"
    rm -rf "$LIBTORCH_DIR" && mv "$staging" "$LIBTORCH_DIR"
fi
# ---- end libtorch -----------------------------------------------------------
