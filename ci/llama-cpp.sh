#!/usr/bin/env bash
# Builds llama.cpp's own tools (llama-server, llama-bench, llama-perplexity,
# llama-cli) from the llama.cpp source that ships inside the PyPI sdist
# `llama-cpp-python` (its vendor/llama.cpp folder). They are the independent
# implementations inferbench is checked against: the OpenAI-compatible
# server of the endpoint backend's tests, and the perplexity, greedy text
# and CPU GGUF speed of the real-model work.
#
# The build is cached outside the clone, keyed by version, under
# ~/.cache/inferbench/llama.cpp-<version>/ (INFERBENCH_CACHE overrides the
# root), and vendor/llama.cpp links to it. One build serves every x86 CPU:
# GGML_NATIVE=ON died with an illegal instruction on these VMs, so the CPU
# kernels are built for every x86 variant and picked at run time.
set -euo pipefail
cd "$(dirname "$0")/.."

LLAMA_CPP_PYTHON_VERSION=0.3.36
cache="${INFERBENCH_CACHE:-$HOME/.cache/inferbench}"
prefix="$cache/llama.cpp-$LLAMA_CPP_PYTHON_VERSION"
tools=(llama-server llama-bench llama-perplexity llama-cli)

if [ ! -x "$prefix/bin/llama-server" ]; then
    if ! command -v cmake >/dev/null; then
        echo "== installing cmake (Debian) to build llama.cpp"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends cmake >/dev/null
    fi
    sdist="$cache/pypi/llama_cpp_python-$LLAMA_CPP_PYTHON_VERSION.tar.gz"
    if [ ! -f "$sdist" ]; then
        mkdir -p "$cache/pypi"
        # --no-binary for this package only: its build tools come as wheels.
        python3 -m pip download --quiet --no-deps --no-binary=llama-cpp-python \
            --dest "$cache/pypi" "llama-cpp-python==$LLAMA_CPP_PYTHON_VERSION"
    fi
    echo "== building llama.cpp (from llama-cpp-python $LLAMA_CPP_PYTHON_VERSION) into $prefix"
    work=$(mktemp -d)
    tar xzf "$sdist" -C "$work"
    src="$work/llama_cpp_python-$LLAMA_CPP_PYTHON_VERSION/vendor/llama.cpp"
    cmake -S "$src" -B "$work/build" -DCMAKE_BUILD_TYPE=Release \
        -DGGML_NATIVE=OFF -DGGML_BACKEND_DL=ON -DGGML_CPU_ALL_VARIANTS=ON \
        -DLLAMA_CURL=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF \
        -DBUILD_SHARED_LIBS=ON -DCMAKE_INSTALL_RPATH='$ORIGIN' \
        -DCMAKE_BUILD_WITH_INSTALL_RPATH=ON >"$work/configure.log"
    cmake --build "$work/build" -j "$(nproc)" --target "${tools[@]}" >"$work/build.log" \
        || { tail -n 40 "$work/build.log" >&2; exit 1; }
    staging="$prefix.partial"
    rm -rf "$staging" && mkdir -p "$staging/bin"
    # The tools, their shared libraries and the CPU variants loaded at run
    # time (libggml-cpu-*.so) all sit in one folder found through $ORIGIN.
    for tool in "${tools[@]}"; do cp "$work/build/bin/$tool" "$staging/bin/"; done
    find "$work/build" -name '*.so*' -exec cp -P {} "$staging/bin/" \;
    echo "$LLAMA_CPP_PYTHON_VERSION" >"$staging/version"
    rm -rf "$prefix" && mv "$staging" "$prefix"
    rm -rf "$work"
fi
mkdir -p vendor
ln -sfn "$prefix" vendor/llama.cpp
"$prefix/bin/llama-server" --version 2>&1 | grep -m1 version || true
