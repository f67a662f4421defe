"""Python side of ci/ort-parity.sh: times `InferenceSession.run` on an .onnx
file with the session settings inferbench uses by default, and prints the
per-iteration latencies (ms) as JSON.

Settings mirror inferbench's `[options.ort]` defaults: intra-op threads =
the case's threads, inter-op 1, sequential execution, ORT_ENABLE_ALL, no
spinning. Inputs follow inferbench's rules for a model file's inputs
(harness/src/model/named_inputs.rs), so any exported model gets the same
kind of values on both sides: int64 inputs named like masks are all ones,
like positions 0, 1, ... along the last axis, like token types zeros, all
other int64 inputs token ids in [0, vocab); float inputs N(0, 1)."""
import argparse
import json
import time

import numpy as np
import onnxruntime as ort

p = argparse.ArgumentParser()
p.add_argument("model")
p.add_argument("--threads", type=int, required=True)
p.add_argument("--batch", type=int, required=True)
p.add_argument("--seq-len", type=int, required=True)
p.add_argument("--vocab", type=int, required=True)
p.add_argument("--warmup", type=int, required=True)
p.add_argument("--iterations", type=int, required=True)
a = p.parse_args()

so = ort.SessionOptions()
so.intra_op_num_threads = a.threads
so.inter_op_num_threads = 1
so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
so.add_session_config_entry("session.intra_op.allow_spinning", "0")
so.add_session_config_entry("session.inter_op.allow_spinning", "0")
sess = ort.InferenceSession(a.model, so, providers=["CPUExecutionProvider"])

rng = np.random.default_rng(0)


def value(inp):
    shape = (a.batch, a.seq_len)
    name = inp.name.lower()
    if inp.type == "tensor(float)":
        return rng.standard_normal(shape, dtype=np.float32)
    if "mask" in name:
        return np.ones(shape, dtype=np.int64)
    if "position" in name:
        return np.broadcast_to(np.arange(a.seq_len, dtype=np.int64), shape).copy()
    if "type" in name:
        return np.zeros(shape, dtype=np.int64)
    return rng.integers(0, a.vocab, size=shape, dtype=np.int64)


feed = {i.name: value(i) for i in sess.get_inputs()}
for _ in range(a.warmup):
    sess.run(None, feed)
samples = []
for _ in range(a.iterations):
    t = time.perf_counter_ns()
    sess.run(None, feed)
    samples.append((time.perf_counter_ns() - t) / 1e6)
print(json.dumps({"version": ort.__version__, "samples_ms": samples}))
