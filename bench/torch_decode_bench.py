"""Hugging Face transformers' batch-1 decode on the shapes of specd_bench_model_decode: random
bf16 weights in a real model's shape (bench/shapes/<name>/config.json, made on the GPU), a
128-token random prompt, greedy, a static KV cache, eager (no torch.compile). Time per token =
(time of 256 new tokens - time of 1) / 255, after a warm-up generation. Prints JSON; writes it to
argv[2].

usage: python3 bench/torch_decode_bench.py SHAPE_DIR OUT.json [PROMPT] [NEW_TOKENS]
"""
import json
import sys
import time

import torch
import transformers
from transformers import AutoConfig, AutoModelForCausalLM


def generate_seconds(model, prompt, new_tokens):
    torch.cuda.synchronize()
    start = time.perf_counter()
    out = model.generate(prompt, max_new_tokens=new_tokens, min_new_tokens=new_tokens, do_sample=False,
                         cache_implementation="static", disable_compile=True, pad_token_id=0)
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
    generate_seconds(model, prompt, 8)  # warm-up
    one = generate_seconds(model, prompt, 1)
    full = generate_seconds(model, prompt, new_tokens)
    result = {"benchmark": "model_decode", "implementation": "transformers static cache, eager",
              "card": torch.cuda.get_device_name(0), "shape": shape, "transformers": transformers.__version__,
              "torch": torch.__version__, "prompt_tokens": prompt_length, "new_tokens": new_tokens,
              "prefill_ms": one * 1e3, "ms_per_token_mean": (full - one) / (new_tokens - 1) * 1e3}
    print(json.dumps(result), flush=True)
    with open(out_file, "w") as f:
        json.dump(result, f, indent=2)


if __name__ == "__main__":
    main()
