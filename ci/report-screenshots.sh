#!/usr/bin/env bash
# Writes the book's screenshots of the HTML reports into docs/src/images/:
# the quickstart's run page (report-run.png) and the page of an A/B
# comparison (report-compare.png: the gate scenario against itself made
# 10% slower with the gate's test knob). Needs ci/setup.sh (chromium).
#   bash ci/report-screenshots.sh
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build -p inferbench
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# A copy, so a rebuild meanwhile cannot pull the binary from under the
# worker processes it starts.
cp target/debug/inferbench "$work/inferbench"
bin=$work/inferbench

"$bin" run scenarios/quickstart.toml --out "$work/quickstart" --no-history
"$bin" run tests/scenarios/gate.toml --out "$work/a" --no-history
"$bin" run tests/scenarios/gate.toml --out "$work/b" --no-history --inject-slowdown 10
# Exit 1 means "regressed", which is what this comparison shows.
"$bin" compare "$work"/a/*/ "$work"/b/*/ --html "$work/compare.html" || [ $? -eq 1 ]

# A fresh profile and no background traffic, as in tests/report.rs.
shot() {
    local page=$1 png=$2 height=$3 profile
    profile=$(mktemp -d -p "$work")
    chromium --headless --no-sandbox --disable-gpu --no-first-run \
        --disable-background-networking --disable-component-update --disable-sync \
        --hide-scrollbars --user-data-dir="$profile" --window-size="1280,$height" \
        --screenshot="$png" "file://$page" 2>/dev/null
    echo "wrote $png"
}
mkdir -p docs/src/images
shot "$(ls -d "$work"/quickstart/*/)report.html" "$PWD/docs/src/images/report-run.png" 1800
shot "$work/compare.html" "$PWD/docs/src/images/report-compare.png" 1500
