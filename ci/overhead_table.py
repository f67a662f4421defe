#!/usr/bin/env python3
"""The harness-overhead figures of a run of scenarios/overhead.toml, as the
Markdown tables of the book's "Harness overhead" page.

    python3 ci/overhead_table.py RUN_FOLDER [RUN_FOLDER...]

One column set per run folder (e.g. one with process isolation, one with
`--isolation none`), read from its results.json: the measured loop's
per-iteration wall and CPU time (the null backend's pass does nothing, so
this is what the loop itself adds), the generation drivers' time per
token and per request, and each case's fixed cost: worker start (case
start to load start: the worker process, its job, the weights check),
load, and the reference (the `reference` case's f64 forward pass)."""

import json
import statistics
import sys


def pct(values, q):
    """Percentile by Hyndman & Fan definition 7, as harness/src/stats.rs."""
    s = sorted(values)
    h = (len(s) - 1) * q
    lo = int(h)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (h - lo) * (s[hi] - s[lo])


def fixed_costs(case):
    start, load_start = case.get("started_at_unix_ns"), case.get("load_started_at_unix_ns")
    worker = (load_start - start) / 1e6 if start and load_start else None
    return worker, case.get("load_ms"), case.get("accuracy_ms")


def ms(v):
    return "-" if v is None else f"{v:.2f}"


def rows(run):
    out = []
    for case in run["cases"]:
        c = case["case"]
        label = c["group"] + ("/" + case["generation"]["pattern"] if case["generation"] else "")
        if c["generation"] and case["generation"].get("streams", 1) > 1:
            label += f"x{case['generation']['streams']}"
        worker, load, reference = fixed_costs(case)
        g = case["generation"]
        if g:
            tpot = g.get("tpot_samples_ns") or []
            per_token = f"TPOT p50 {pct(tpot, 0.5):.0f} ns" if tpot else "-"
            e2e = g["e2e_ms"]["p50"] * 1e3 if g.get("e2e_ms") else None
            figure = f"{per_token}; request p50 {e2e:.1f} µs; {g['output_tokens_per_s']:.0f} tok/s"
        else:
            wall, cpu = case["samples_ns"], case["cpu_samples_ns"]
            # The loop's whole cost per pass: the clock readings outside
            # the wall bracket (the CPU clock is a system call) and the
            # loop's own bookkeeping included.
            per_pass = case["measure_ms"] * 1e6 / len(wall)
            figure = (
                f"loop {per_pass:.0f} ns/pass; "
                f"wall p50 {pct(wall, 0.5):.0f} ns (p99 {pct(wall, 0.99):.0f}, "
                f"min {min(wall)}); CPU p50 {pct(cpu, 0.5):.0f} ns "
                f"(mean {statistics.fmean(cpu):.0f})"
            )
        out.append((label, figure, ms(worker), ms(load), ms(reference)))
    return out


def main(folders):
    for folder in folders:
        with open(f"{folder}/results.json") as f:
            run = json.load(f)
        print(f"\n`{run['run_id']}`\n")
        print("| case | per iteration / token | worker start ms | load ms | reference ms |")
        print("|---|---|---|---|---|")
        for row in rows(run):
            print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    main(sys.argv[1:])
