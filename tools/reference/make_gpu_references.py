"""Hugging Face transformers in bf16 on the GPU: the references the CUDA runner is compared on.

Runs on the GPU machine (transformers 5, torch with CUDA). For every model (the small random
models of tests/data/gpu_reference/models, made by make_gpu_reference_models.sh, and the bundled
pair models/specd-code-target and models/specd-code-draft): load it in bf16 with eager attention
on the GPU, and for each prompt
  - the logits of every prompt position in one forward pass (saved in bf16 as
    <name>.logits.safetensors, tensors "prompt_<i>" [prompt length, vocab]; the bundled pair's
    first 4 prompts only, to keep the files small), and
  - a greedy continuation, token by token through the KV cache, never stopping at eos, with
    the margin between the two largest logits at every step (a near tie may flip in bf16).
The model runs in bf16 up to the final norm; the output projection is computed in fp32 from those
bf16 values, as the CUDA runner does, since logits rounded to bf16 tie exactly all the time.
Writes tests/data/gpu_reference/references.json.

usage: python3 tools/reference/make_gpu_references.py [OUT_DIR]   (default tests/data/gpu_reference)
"""
import json
import os
import sys

import torch
import transformers
from safetensors.torch import save_file
from transformers import AutoModelForCausalLM

ROOT = "tests/data/gpu_reference"
SMALL_MODELS = ["llama_gqa4_hd64", "llama3_gqa8_hd128_tied", "qwen2_bias_mha", "mistral_window"]
BUNDLED = {"specd-code-target": "models/specd-code-target", "specd-code-draft": "models/specd-code-draft"}
SMALL_NEW_TOKENS = 32
BUNDLED_NEW_TOKENS = 48
BUNDLED_LOGIT_PROMPTS = 4


def load(model_dir):
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.bfloat16, attn_implementation="eager")
    return model.cuda().eval()


@torch.no_grad()
def forward(model, ids, cache=None):
    """fp32 logits [len(ids), vocab] from the bf16 model, and the KV cache."""
    out = model.model(input_ids=torch.tensor([ids], device="cuda"), past_key_values=cache, use_cache=True)
    weight = model.get_output_embeddings().weight
    return torch.nn.functional.linear(out.last_hidden_state[0].float(), weight.float()), out.past_key_values


@torch.no_grad()
def greedy(model, prompt, new_tokens):
    logits, cache = forward(model, prompt)
    tokens, margins = [], []
    for _ in range(new_tokens):
        top = torch.topk(logits[-1], 2)
        tokens.append(int(top.indices[0]))
        margins.append(float(top.values[0] - top.values[1]))
        logits, cache = forward(model, [tokens[-1]], cache)
    return tokens, margins


@torch.no_grad()
def references(name, model_dir, prompts, new_tokens, logit_prompts, out_dir):
    model = load(model_dir)
    tensors, entries = {}, []
    for i, prompt in enumerate(prompts):
        if i < logit_prompts:
            tensors[f"prompt_{i}"] = forward(model, prompt)[0].to(torch.bfloat16).cpu().contiguous()
        tokens, margins = greedy(model, prompt, new_tokens)
        entries.append({"prompt_ids": prompt, "greedy_ids": tokens, "greedy_margins": margins})
    save_file(tensors, os.path.join(out_dir, f"{name}.logits.safetensors"))
    print(name, "logits", {k: tuple(v.shape) for k, v in tensors.items()},
          "min greedy margin", min(min(e["greedy_margins"]) for e in entries))
    return {"model_dir": model_dir, "logits_file": f"{name}.logits.safetensors", "logit_prompts": logit_prompts,
            "prompts": entries}


def main():
    out_dir = sys.argv[1] if len(sys.argv) > 1 else ROOT
    torch.manual_seed(0)
    with open(os.path.join(ROOT, "prompts.json")) as f:
        small_prompts = json.load(f)["prompts"]
    with open("tests/data/bundled_target/references.json") as f:
        bundled_prompts = [p["prompt_ids"] for p in json.load(f)["prompts"]]
    models = {}
    for name in SMALL_MODELS:
        models[name] = references(name, os.path.join(ROOT, "models", name), small_prompts, SMALL_NEW_TOKENS,
                                  len(small_prompts), out_dir)
    for name, model_dir in BUNDLED.items():
        models[name] = references(name, model_dir, bundled_prompts, BUNDLED_NEW_TOKENS, BUNDLED_LOGIT_PROMPTS, out_dir)
    result = {"transformers": transformers.__version__, "torch": torch.__version__,
              "device": torch.cuda.get_device_name(0), "dtype": "bfloat16", "attention": "eager", "models": models}
    with open(os.path.join(out_dir, "references.json"), "w") as f:
        json.dump(result, f)


if __name__ == "__main__":
    main()
