#!/usr/bin/env python3
"""Lists Rust functions longer than a limit (default 80 lines), tests excluded.

Usage: python3 ci/long_functions.py [LIMIT] [PATH...]
Relies on rustfmt's layout: a function's closing brace sits on its own line
at the indentation of its `fn` line. Code after `#[cfg(test)]` at the start
of a line (a test module) and files under `tests/` are skipped.
"""
import os
import re
import sys

FN = re.compile(r"^(\s*)(pub(\([^)]*\))?\s+)?(const\s+)?(async\s+)?(unsafe\s+)?(extern\s+\"[^\"]*\"\s+)?fn\s+(\w+)")


def functions(path):
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    end = len(lines)
    for i, line in enumerate(lines):
        if line.startswith("#[cfg(test)]"):
            end = i
            break
    i = 0
    while i < end:
        m = FN.match(lines[i])
        if not m:
            i += 1
            continue
        indent, name = m.group(1), m.group(8)
        j = i
        # A declaration without a body (trait method) ends with `;`.
        while j < end and not lines[j].rstrip().endswith("{") and not lines[j].rstrip().endswith(";"):
            j += 1
        if j >= end or lines[j].rstrip().endswith(";"):
            i = j + 1
            continue
        k = j + 1
        while k < end and lines[k] != indent + "}":
            k += 1
        yield name, i + 1, k - i + 1
        i += 1


def main():
    args = sys.argv[1:]
    limit = int(args.pop(0)) if args and args[0].isdigit() else 80
    roots = args or ["backends", "harness/src"]
    found = []
    for root in roots:
        for dirpath, _, files in os.walk(root):
            if "/tests" in dirpath or "/target" in dirpath:
                continue
            for name in files:
                if name.endswith(".rs"):
                    path = os.path.join(dirpath, name)
                    for fn, line, length in functions(path):
                        if length > limit:
                            found.append((length, f"{path}:{line}", fn))
    for length, where, fn in sorted(found, reverse=True):
        print(f"{length:4} {where} {fn}")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
