"""Computes the reference logits of tests/data/hf_reference/* with Hugging Face transformers.

Runs on the GPU machine (transformers 5, torch). For each model folder: load it in fp32 with
eager attention, check every weight was loaded, run each prompt of prompts.json in one forward
pass, and save the logits of every position as logits.safetensors (tensors "prompt_<i>",
[prompt length, vocab], fp32). Also saves the config.json that transformers itself writes
(config.transformers5.json) so our loader is checked against that form too.

usage: python3 tools/reference/make_model_logits.py tests/data/hf_reference
"""
import json
import os
import sys
import tempfile

import torch
import transformers
from safetensors.torch import save_file
from transformers import AutoModelForCausalLM

MODELS = ["llama_tied", "llama_gqa_llama3", "qwen2_bias", "mistral_window"]


def reference_logits(model_dir, prompts):
    model, info = AutoModelForCausalLM.from_pretrained(
        model_dir, dtype=torch.float32, attn_implementation="eager", output_loading_info=True)
    tied = {"lm_head.weight"} if model.config.tie_word_embeddings else set()
    bad = {k: [n for n in v if n not in tied] for k, v in info.items()
           if k in ("missing_keys", "unexpected_keys", "mismatched_keys")}
    bad = {k: v for k, v in bad.items() if v}
    assert not bad, f"{model_dir}: weights not loaded cleanly: {bad}"
    model.eval()
    tensors = {}
    with torch.no_grad():
        for i, prompt in enumerate(prompts):
            ids = torch.tensor([prompt], dtype=torch.long)
            tensors[f"prompt_{i}"] = model(input_ids=ids).logits[0].float().contiguous()
    with tempfile.TemporaryDirectory() as tmp:
        model.config.save_pretrained(tmp)
        with open(os.path.join(tmp, "config.json")) as f:
            v5_config = f.read()
    return tensors, v5_config


def main():
    root = sys.argv[1]
    torch.manual_seed(0)
    print(f"transformers {transformers.__version__}, torch {torch.__version__}")
    with open(os.path.join(root, "prompts.json")) as f:
        prompts = json.load(f)["prompts"]
    for name in MODELS:
        model_dir = os.path.join(root, name)
        tensors, v5_config = reference_logits(model_dir, prompts)
        save_file(tensors, os.path.join(model_dir, "logits.safetensors"))
        with open(os.path.join(model_dir, "config.transformers5.json"), "w") as f:
            f.write(v5_config)
        print(name, {k: tuple(v.shape) for k, v in tensors.items()},
              "max |logit|", max(float(v.abs().max()) for v in tensors.values()))


if __name__ == "__main__":
    main()
