"""Hugging Face transformers' batch-1 decode on the shapes of specd_bench_model_decode: random
bf16 weights in a real model's shape (bench/shapes/<name>/config.json, made on the GPU), a
128-token random prompt, greedy, a static KV cache; eager, and with transformers' default for a
static cache (the decode step compiled by torch.compile, which captures CUDA graphs). Time per
token = (time of 256 new tokens - time of 1) / 255, after a warm-up generation (which includes
the compilation). Prints JSON; writes a list of both to argv[2].

usage: python3 bench/torch_decode_bench.py SHAPE_DIR OUT.json [PROMPT] [NEW_TOKENS]
"""
import json
import sys
import time

import torch
import transformers
from transformers import AutoConfig, AutoModelForCausalLM


def generate_seconds(model, prompt, new_tokens, compiled):
    torch.cuda.synchronize()
    start = time.perf_counter()
    out = model.generate(prompt, max_new_tokens=new_tokens, min_new_tokens=new_tokens, do_sample=False,
                         cache_implementation="static", disable_compile=not compiled, pad_token_id=0)
    torch.cuda.synchronize()
    assert out.shape[1] == prompt.shape[1] + new_tokens
    return time.perf_counter() - start


def main():
    shape, out_file = sys.argv[1], sys.argv[2]
    prompt_length = int(sys.argv[3]) if len(sys.argv) > 3 else 128
    new_tokens = int(sys.argv[4]) if len(sys.argv) > 4 else 256
    config = AutoConfig.from_pretrained(shape)
    torch.manual_seed(0)
    with torch.device("cuda"):
        model = AutoModelForCausalLM.from_config(config, dtype=torch.bfloat16).eval()
    prompt = torch.randint(0, config.vocab_size, (1, prompt_length), device="cuda")
    results = []
    for compiled in (False, True):
        generate_seconds(model, prompt, 8, compiled)  # warm-up
        one = generate_seconds(model, prompt, 1, compiled)
        full = generate_seconds(model, prompt, new_tokens, compiled)
        name = "torch.compile (default)" if compiled else "eager"
        results.append({"benchmark": "model_decode", "implementation": f"transformers static cache, {name}",
                        "card": torch.cuda.get_device_name(0), "shape": shape,
                        "transformers": transformers.__version__, "torch": torch.__version__,
                        "prompt_tokens": prompt_length, "new_tokens": new_tokens, "prefill_ms": one * 1e3,
                        "ms_per_token_mean": (full - one) / (new_tokens - 1) * 1e3})
        print(json.dumps(results[-1]), flush=True)
    with open(out_file, "w") as f:
        json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
