"""Latency of the synthetic GPT in inferbench's tch backend versus Python
PyTorch eager mode (torch.inference_mode), on the same libtorch release
(2.13.0), the same safetensors weights, token ids and thread count.

Run through ci/compare_pytorch.sh, which prepares the venv and the binary.
Each round runs one inferbench case (its own worker process) and one Python
process, alternating (inferbench first in even rounds, Python first in odd
ones), so drift in a shared machine's load hits both sides alike. The first
round also creates the weights and the f64 reference in a scratch cache, so
inferbench runs first there. Every process loads, warms up, then times one forward pass per
sample. The verdict is the ratio of the pooled medians,
p50(inferbench) / p50(python): below 1.0 means inferbench is faster.
"""

import argparse
import glob
import json
import os
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

SCENARIO = """
name = "compare-pytorch"
backends = "tch"
precisions = "{precision}"
batch = {batch}
seq_len = {seq}
threads = {threads}

[model]
name = "gpt-small"
vocab_size = {vocab}
hidden = {hidden}
layers = {layers}
heads = {heads}
max_seq = {seq}
seed = 0

[warmup]
iterations = {warmup}
seconds = 0.0

[measurement]
min_iterations = {iterations}
min_seconds = 0.0
max_iterations = {iterations}
max_seconds = 600.0

[accuracy]
reference = "f64"
"""


def p50(xs):
    return statistics.median(xs) / 1e6


def run_inferbench(args, workdir, scenario):
    out = subprocess.run(
        [args.inferbench, "run", scenario, "--out", os.path.join(workdir, "runs"),
         "--cache-dir", os.path.join(workdir, "cache")],
        capture_output=True, text=True, cwd=ROOT,
    )
    if out.returncode != 0:
        sys.exit(f"inferbench failed:\n{out.stdout}\n{out.stderr}")
    runs = sorted(glob.glob(os.path.join(workdir, "runs", "*", "results.json")), key=os.path.getmtime)
    [case] = json.load(open(runs[-1]))["cases"]
    if case["status"] != "measured":
        sys.exit(f"inferbench case {case['status']}: {case['message']}")
    return case


def run_python(args, workdir):
    [weights] = glob.glob(os.path.join(workdir, "cache", "synthetic-gpt", "*", "model.safetensors"))
    reference = os.path.join(os.path.dirname(weights), f"reference-b{args.batch}-t{args.seq}-s0.f64")
    # As inferbench's workers (harness/src/runner/process.rs): passive
    # OpenMP waiting unless the caller's environment chose a policy.
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads))
    env.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    out = subprocess.run(
        [args.python, os.path.join(ROOT, "ci", "pytorch_eager_gpt.py"),
         "--weights", weights, "--reference", reference,
         "--vocab", str(args.vocab), "--layers", str(args.layers), "--heads", str(args.heads),
         "--batch", str(args.batch), "--seq", str(args.seq), "--threads", str(args.threads),
         "--precision", args.precision,
         "--warmup", str(args.warmup), "--iterations", str(args.iterations)],
        capture_output=True, text=True, env=env,
    )
    if out.returncode != 0:
        sys.exit(f"python failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--inferbench", required=True, help="inferbench binary built with --features tch")
    ap.add_argument("--python", required=True, help="a Python with torch 2.13.0")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--precision", default="f32", choices=["f32", "f16", "bf16"])
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--seq", type=int, default=64)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--vocab", type=int, default=2048)
    ap.add_argument("--hidden", type=int, default=256)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--heads", type=int, default=8)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--iterations", type=int, default=50)
    args = ap.parse_args()

    with tempfile.TemporaryDirectory(prefix="inferbench-compare-") as workdir:
        scenario = os.path.join(workdir, "scenario.toml")
        with open(scenario, "w") as f:
            f.write(SCENARIO.format(**vars(args)))
        ours, theirs, rounds = [], [], []
        for r in range(args.rounds):
            # ABBA order: whichever side runs second in a round runs first in
            # the next, so a slow start (cold caches, frequency ramp) or a
            # trend in the machine's load does not favour one side.
            if r % 2 == 0:
                case = run_inferbench(args, workdir, scenario)
                py = run_python(args, workdir)
            else:
                py = run_python(args, workdir)
                case = run_inferbench(args, workdir, scenario)
            ours += case["samples_ns"]
            theirs += py["samples_ns"]
            a, b = p50(case["samples_ns"]), p50(py["samples_ns"])
            rounds.append(a / b)
            print(f"round {r + 1}: inferbench p50 {a:8.3f} ms   python p50 {b:8.3f} ms   "
                  f"ratio {a / b:.3f}   rel L2 vs f64: inferbench "
                  f"{case['accuracy']['rel_l2']:.2e}, python {py['rel_l2']:.2e}", flush=True)
        a, b = p50(ours), p50(theirs)
        print(f"\n{args.precision} b{args.batch} t{args.seq} th{args.threads} "
              f"(gpt v{args.vocab} h{args.hidden} l{args.layers}), {args.rounds} rounds x "
              f"{args.iterations} samples each side; torch {py['torch']}, {case['runtime_version']}")
        print(f"p50 latency: inferbench {a:.3f} ms, python eager {b:.3f} ms   "
              f"(min: {min(ours) / 1e6:.3f} ms vs {min(theirs) / 1e6:.3f} ms)")
        print(f"ratio inferbench/python (pooled p50): {a / b:.3f}   "
              f"(median of per-round ratios {statistics.median(rounds):.3f})")


if __name__ == "__main__":
    main()
