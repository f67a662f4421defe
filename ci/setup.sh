#!/usr/bin/env bash
# Installs everything inferbench's build and tests need that cargo does not
# fetch itself. Idempotent: each step is skipped when its result is present.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v cargo >/dev/null; then
    echo "error: cargo not found; install a Rust toolchain (rustup) first" >&2
    exit 1
fi
