#!/usr/bin/env python3
"""make_test_references.py: what specd's tests check the bundled target against (GPU machine).

For 16 held-out ("test" split) files of the corpus: a prompt of 48 token ids (<|bos|> and 47
tokens from the middle of the file) and transformers' greedy continuation of up to 48 tokens
(stopping at <|eos|>), plus, for the first 2 prompts, the fp32 logits at the positions that
chose each continuation token. Runs LlamaForCausalLM in fp32 on the CPU (no TF32 anywhere) on
the committed bf16 weights. Writes tests/data/bundled_target/{references.json, logits.safetensors}.

usage: python3 tools/train/make_test_references.py [--corpus .corpus/python_stdlib.tar.gz]
"""
import argparse
import json
import os
import sys

import torch
from safetensors.torch import save_file
from tokenizers import Tokenizer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from evaluate import greedy, load_model  # noqa: E402
from train_tokenizer import read_corpus, split_of  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODEL = os.path.join(ROOT, "models", "specd-code-target")
OUT = os.path.join(ROOT, "tests", "data", "bundled_target")
NUM_PROMPTS, PROMPT_TOKENS, NEW_TOKENS, LOGIT_PROMPTS = 16, 48, 48, 2


def prompts_from(texts, tok):
    prompts = []
    for path, text in texts:
        ids = tok.encode(text, add_special_tokens=False).ids
        if len(ids) < 4 * PROMPT_TOKENS:
            continue
        start = len(ids) // 2 - PROMPT_TOKENS // 2
        prompts.append({"file": path, "prompt_ids": [tok.token_to_id("<|bos|>")] +
                        ids[start:start + PROMPT_TOKENS - 1]})
        if len(prompts) == NUM_PROMPTS:
            return prompts
    raise SystemExit(f"only {len(prompts)} held-out files are long enough")


@torch.no_grad()
def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", default=os.path.join(ROOT, ".corpus", "python_stdlib.tar.gz"))
    args = ap.parse_args()
    torch.manual_seed(0)
    tok = Tokenizer.from_file(os.path.join(MODEL, "tokenizer.json"))
    eos = tok.token_to_id("<|eos|>")
    model = load_model(MODEL, "cpu")
    texts = [(p, t) for p, t in read_corpus(args.corpus).items() if split_of(p) == "test"]
    prompts = prompts_from(texts, tok)
    logits = {}
    for i, entry in enumerate(prompts):
        ids = torch.tensor([entry["prompt_ids"]])
        out = greedy(model, ids, NEW_TOKENS, stop_id=eos)[0].tolist()
        entry["output_ids"] = out
        if i < LOGIT_PROMPTS:  # logits that chose each output token: positions P-1 .. P+len(out)-2
            full = torch.tensor([entry["prompt_ids"] + out[:-1]])
            rows = model(input_ids=full, use_cache=False).logits[0, len(entry["prompt_ids"]) - 1:]
            logits[f"prompt_{i}"] = rows.float().contiguous()
        print(f"{entry['file']}: {len(out)} tokens: {tok.decode(out)!r}")
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, "references.json"), "w") as f:
        json.dump({"model": "models/specd-code-target", "transformers_dtype": "float32",
                   "device": "cpu", "prompts": prompts}, f, indent=1)
    save_file(logits, os.path.join(OUT, "logits.safetensors"))
    print("wrote", OUT, {k: tuple(v.shape) for k, v in logits.items()})


if __name__ == "__main__":
    main()
