"""Writes tiny_lm.pt (a TorchScript module) and tiny_lm.json (its inputs and
the outputs Python PyTorch computes for them), the fixture of the tch
backend's TorchScript tests. Rerun after changing the model:

    vendor/torch-venv/bin/python backends/tch/testdata/make_tiny_lm.py

(`ci/compare_pytorch.sh` creates that venv.) The module takes int64 token
ids and an optional f32 tensor, and returns a tuple plus a dict, so the test
covers mixed input kinds, default arguments and nested outputs.
"""

import json
import os
from typing import Dict, Optional, Tuple

import torch
from torch import nn


class TinyLm(nn.Module):
    def __init__(self, vocab: int = 16, hidden: int = 8):
        super().__init__()
        self.wte = nn.Embedding(vocab, hidden)
        self.ln = nn.LayerNorm(hidden)
        self.fc = nn.Linear(hidden, hidden)
        self.head = nn.Linear(hidden, vocab, bias=False)

    def forward(
        self, input_ids: torch.Tensor, temperature: Optional[torch.Tensor] = None
    ) -> Tuple[torch.Tensor, Dict[str, torch.Tensor]]:
        h = self.wte(input_ids)
        h = h + torch.nn.functional.gelu(self.fc(self.ln(h)))
        logits = self.head(h)
        if temperature is not None:
            logits = logits / temperature
        return logits, {"hidden_mean": h.mean(dim=-1)}


def main() -> None:
    here = os.path.dirname(os.path.abspath(__file__))
    torch.manual_seed(0)
    model = torch.jit.script(TinyLm().eval())
    model.save(os.path.join(here, "tiny_lm.pt"))

    ids = torch.tensor([[1, 5, 9, 2], [0, 15, 7, 7]], dtype=torch.int64)
    temperature = torch.tensor([[0.5], [2.0]], dtype=torch.float32).unsqueeze(-1)
    with torch.inference_mode():
        logits, extra = model(ids)
        scaled, _ = model(ids, temperature)

    def tensor(t: torch.Tensor) -> dict:
        return {"shape": list(t.shape), "data": t.flatten().tolist()}

    fixture = {
        "torch_version": torch.__version__,
        "input_ids": tensor(ids),
        "temperature": tensor(temperature),
        "outputs": {"output.0": tensor(logits), "hidden_mean": tensor(extra["hidden_mean"])},
        "scaled_logits": tensor(scaled),
    }
    with open(os.path.join(here, "tiny_lm.json"), "w") as f:
        json.dump(fixture, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
