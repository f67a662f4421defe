"""The synthetic GPT in Python PyTorch eager mode, timed the way inferbench
times a case: one process, load, warm-up, then one forward pass per sample.

The baseline side of ci/compare_pytorch.py. The architecture is
backends/backend/src/gpt.rs, written with the torch.nn.functional ops the
tch backend calls (linear, layer_norm, embedding,
scaled_dot_product_attention with is_causal, exact-erf gelu), on the very
safetensors file inferbench generated, and the same token ids (SplitMix64,
harness/src/model/inputs.rs). Prints one JSON object on stdout.
"""

import argparse
import json
import struct
import time

import torch
import torch.nn.functional as F

LN_EPS = 1e-5
MASK64 = (1 << 64) - 1


def splitmix64(state):
    """harness/src/model/rng.rs: yields successive outputs."""
    while True:
        state = (state + 0x9E3779B97F4A7C15) & MASK64
        z = state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
        yield z ^ (z >> 31)


def token_ids(vocab, batch, seq, seed):
    """harness/src/model/inputs.rs::token_batch."""
    rng = splitmix64(seed ^ 0x1D57A11)
    ids = [next(rng) % vocab for _ in range(batch * seq)]
    return torch.tensor(ids, dtype=torch.int64).view(batch, seq)


def read_safetensors(path):
    """f32 tensors of a safetensors file (8-byte header length, JSON header,
    raw little-endian data), without the safetensors package."""
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n])
    body = bytearray(data[8 + n :])
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        assert info["dtype"] == "F32", f"{name}: {info['dtype']}"
        start, end = info["data_offsets"]
        t = torch.frombuffer(body, dtype=torch.float32, offset=start, count=(end - start) // 4)
        tensors[name] = t.view(info["shape"]).clone()
    return tensors


class Gpt:
    def __init__(self, w, layers, heads, dtype):
        self.w = {k: v.to(dtype) for k, v in w.items()}
        self.layers = layers
        self.heads = heads

    def ln(self, x, name):
        w = self.w
        return F.layer_norm(x, x.shape[-1:], w[name + ".weight"], w[name + ".bias"], LN_EPS)

    def lin(self, x, name, bias=True):
        return F.linear(x, self.w[name + ".weight"], self.w[name + ".bias"] if bias else None)

    def forward(self, ids):
        w = self.w
        b, t = ids.shape
        x = F.embedding(ids, w["wte"]) + w["wpe"][:t]
        h = x.shape[-1]
        nh, d = self.heads, h // self.heads
        for l in range(self.layers):
            p = f"h.{l}."
            qkv = self.lin(self.ln(x, p + "ln_1"), p + "attn.c_attn")
            q, k, v = qkv.view(b, t, 3, nh, d).permute(2, 0, 3, 1, 4)
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
            x = x + self.lin(y.transpose(1, 2).reshape(b, t, h), p + "attn.c_proj")
            m = self.lin(self.ln(x, p + "ln_2"), p + "mlp.c_fc")
            x = x + self.lin(F.gelu(m, approximate="none"), p + "mlp.c_proj")
        return self.lin(self.ln(x, "ln_f"), "lm_head", bias=False)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--weights", required=True)
    ap.add_argument("--reference", help="inferbench's cached f64 reference logits")
    ap.add_argument("--vocab", type=int, required=True)
    ap.add_argument("--layers", type=int, required=True)
    ap.add_argument("--heads", type=int, required=True)
    ap.add_argument("--batch", type=int, required=True)
    ap.add_argument("--seq", type=int, required=True)
    ap.add_argument("--input-seed", type=int, default=0)
    ap.add_argument("--threads", type=int, required=True)
    ap.add_argument("--precision", choices=["f32", "f16", "bf16"], default="f32")
    ap.add_argument("--warmup", type=int, required=True)
    ap.add_argument("--iterations", type=int, required=True)
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    dtype = {"f32": torch.float32, "f16": torch.float16, "bf16": torch.bfloat16}[args.precision]
    t0 = time.perf_counter()
    model = Gpt(read_safetensors(args.weights), args.layers, args.heads, dtype)
    load_ms = (time.perf_counter() - t0) * 1e3
    ids = token_ids(args.vocab, args.batch, args.seq, args.input_seed)

    samples = []
    with torch.inference_mode():
        for _ in range(args.warmup):
            model.forward(ids)
        for _ in range(args.iterations):
            t = time.perf_counter_ns()
            logits = model.forward(ids)
            samples.append(time.perf_counter_ns() - t)

    out = {"torch": torch.__version__, "load_ms": load_ms, "samples_ns": samples}
    if args.reference:
        with open(args.reference, "rb") as f:
            ref = torch.frombuffer(bytearray(f.read()), dtype=torch.float64)
        got = logits.double().flatten()
        out["rel_l2"] = float((got - ref).norm() / ref.norm())
    print(json.dumps(out))


if __name__ == "__main__":
    main()
