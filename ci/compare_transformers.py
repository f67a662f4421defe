"""Checks inferbench's reading of a real Llama checkpoint against Hugging Face
`transformers`, an implementation we did not write.

inferbench converts SmolLM2's GGUF file into a HF folder (config.json,
tokenizer.json, f32 model.safetensors: q/k rows un-permuted from llama.cpp's
interleaved rotary layout, tied embeddings). A consistent mistake there (the
rotary layout, the tokenizer's pre-split, the tied head) would pass every
test that compares our backends with our own f64 reference. Here
`transformers` loads that folder on its own, and we compare:

- token ids of a few strings: our tokenizer (from the GGUF metadata) vs
  `AutoTokenizer` on the derived tokenizer.json;
- logits of a prompt: transformers' f32 `LlamaForCausalLM` vs our f64
  reference (relative L2, max |delta|, top-1 agreement per position);
- a greedy continuation, token for token.

Input: the JSON written by `cargo run -p inferbench-reference --example
llama_logits` (folder, prompt ids, reference logits, greedy ids, our
encodings). Prints a table and exits 1 when the logits disagree beyond
`--max-rel-l2`.
"""

import argparse
import json
import sys

import numpy as np
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("ours", help="JSON from the llama_logits example")
    parser.add_argument("--max-rel-l2", type=float, default=1e-4)
    args = parser.parse_args()
    with open(args.ours) as f:
        ours = json.load(f)

    folder = ours["folder"]
    tokenizer = AutoTokenizer.from_pretrained(folder)
    token_mismatches = 0
    for text, our_ids in ours["encodings"].items():
        theirs = tokenizer.encode(text, add_special_tokens=False)
        same = theirs == our_ids
        token_mismatches += not same
        print(f"tokens {'same' if same else 'DIFFER'}: {text!r}: ours {our_ids} transformers {theirs}")

    torch.set_num_threads(2)
    model = AutoModelForCausalLM.from_pretrained(folder, torch_dtype=torch.float32)
    model.eval()
    ids = torch.tensor([ours["prompt_ids"]], dtype=torch.long)
    with torch.inference_mode():
        logits = model(ids).logits[0].double().numpy()
    reference = np.asarray(ours["logits"], dtype=np.float64).reshape(logits.shape)
    rel_l2 = float(np.linalg.norm(logits - reference) / np.linalg.norm(reference))
    max_abs = float(np.max(np.abs(logits - reference)))
    top1 = float(np.mean(logits.argmax(-1) == reference.argmax(-1)))
    print(f"logits over {ids.shape[1]} positions: rel L2 {rel_l2:.3e}, max |d| {max_abs:.3e}, top-1 {top1:.3f}")

    with torch.inference_mode():
        out = model.generate(ids, max_new_tokens=len(ours["greedy_ids"]), do_sample=False)
    theirs = out[0, ids.shape[1]:].tolist()
    agree = next((i for i, (a, b) in enumerate(zip(theirs, ours["greedy_ids"])) if a != b), len(theirs))
    print(f"greedy: {agree}/{len(theirs)} tokens agree")
    print(f"  ours:         {tokenizer.decode(ours['greedy_ids'])!r}")
    print(f"  transformers: {tokenizer.decode(theirs)!r}")

    ok = rel_l2 <= args.max_rel_l2 and token_mismatches == 0 and agree == len(theirs)
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
