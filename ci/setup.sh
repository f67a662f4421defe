#!/usr/bin/env bash
# Installs everything inferbench's build and tests need that cargo does not
# fetch itself. Idempotent: each step is skipped when its result is present.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v cargo >/dev/null; then
    echo "error: cargo not found; install a Rust toolchain (rustup) first" >&2
    exit 1
fi

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
