"""Golden values for the f64 reference BERT's test
(backends/reference/tests/bert_minilm.rs): all-MiniLM-L6-v2's sentence
embedding of "hello world" (ids from its tokenizer.json), computed with
torch.nn.functional in float64 from the fixture's safetensors, so the Rust
reference is checked against an independent implementation of BertModel
(post-LayerNorm, erf GELU) + mean pooling + L2 normalization.

    ~/.cache/inferbench/torch-venv-2.13.0/bin/python ci/bert_golden.py
"""
import sys

import torch
import torch.nn.functional as F
from safetensors.torch import load_file

folder = sys.argv[1] if len(sys.argv) > 1 else "vendor/models/all-minilm-l6-v2"
w = {k: v.double() for k, v in load_file(f"{folder}/model.safetensors").items()}
ids = torch.tensor([101, 7592, 2088, 102])
heads, eps = 12, 1e-12
h = w["embeddings.word_embeddings.weight"].shape[1]


def ln(x, p):
    return F.layer_norm(x, (h,), w[p + ".weight"], w[p + ".bias"], eps)


def lin(x, p):
    return F.linear(x, w[p + ".weight"], w[p + ".bias"])


x = (w["embeddings.word_embeddings.weight"][ids]
     + w["embeddings.position_embeddings.weight"][: len(ids)]
     + w["embeddings.token_type_embeddings.weight"][0])
x = ln(x, "embeddings.LayerNorm")
layer = 0
while f"encoder.layer.{layer}.attention.self.query.weight" in w:
    p = f"encoder.layer.{layer}."
    q, k, v = (lin(x, p + "attention.self." + n).view(len(ids), heads, -1).transpose(0, 1)
               for n in ("query", "key", "value"))
    ctx = F.scaled_dot_product_attention(q, k, v).transpose(0, 1).reshape(len(ids), h)
    x = ln(x + lin(ctx, p + "attention.output.dense"), p + "attention.output.LayerNorm")
    y = lin(F.gelu(lin(x, p + "intermediate.dense")), p + "output.dense")
    x = ln(x + y, p + "output.LayerNorm")
    layer += 1
e = F.normalize(x.mean(0), dim=0)
print("embedding[:4]", [f"{v:.15e}" for v in e[:4].tolist()])
print("last_hidden_state[1][:4]", [f"{v:.15e}" for v in x[1, :4].tolist()])
