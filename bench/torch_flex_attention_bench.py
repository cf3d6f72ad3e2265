"""PyTorch's FlexAttention on the cases of `specd_bench_attention --flex`, in the same call, as the anchor.

torch.compile(flex_attention) with the same mask_mod / score_mod per modifier and a block mask from
create_block_mask (so fully masked blocks are skipped, as in our kernels), bf16, contiguous (not
paged) K/V:
  prefill: q, k, v [4, 32, 4096, 128]; TFLOP/s counting only visible score elements:
           4 * head_dim * (visible (query, key) pairs) per head, the rule specd_bench_attention uses;
  decode:  q [8, 32, 1, 128], k/v [8, 8, 8192, 128] (GQA); TB/s counting only the K and V rows of
           visible keys;
  sliding-window (4096) decode at contexts 8k, 32k and 128k.
Times are CUDA-event means after a warm-up. torch._dynamo's recompile limit is raised first: past it
every new shape silently falls back to an unfused path. Prints JSON lines; writes them as an array
to argv[1].

usage: python3 bench/torch_flex_attention_bench.py OUT.json
"""
import json
import math
import sys

import torch
import torch._dynamo
from torch.nn.attention.flex_attention import create_block_mask, flex_attention

from torch_attention_bench import time_ms  # bench/, the script's folder, is on sys.path

HEAD_DIM = 128
PREFILL = dict(batch=4, context=4096, num_heads=32, num_kv_heads=32)
DECODE = dict(batch=8, context=8192, num_heads=32, num_kv_heads=8)
WIDE_PREFIX = 1 << 30


def raise_recompile_limit():
    config = torch._dynamo.config
    name = "recompile_limit" if hasattr(config, "recompile_limit") else "cache_size_limit"
    setattr(config, name, 1000)
    if hasattr(config, "accumulated_recompile_limit"):
        config.accumulated_recompile_limit = 10000
    elif hasattr(config, "accumulated_cache_size_limit"):
        config.accumulated_cache_size_limit = 10000


def alibi_slopes(num_heads):
    """Bloom's slopes: the closest power of two's, then every other slope of twice that."""
    closest = 2 ** int(math.floor(math.log2(num_heads)))
    slopes = [2.0 ** (-8.0 * (i + 1) / closest) for i in range(closest)]
    slopes += [2.0 ** (-4.0 * (2 * i + 1) / closest) for i in range(num_heads - closest)]
    return torch.tensor(slopes, device="cuda", dtype=torch.float32)


def modifiers(num_heads, batch, context):
    """(name, mask_mod(offset), score_mod(offset) or None) with `offset` the first query's position."""
    slopes = alibi_slopes(num_heads)
    document = (torch.arange(context, device="cuda") // 1024).expand(batch, context).contiguous()

    def causal(offset):
        return lambda b, h, q, k: q + offset >= k

    def window(size):
        return lambda offset: lambda b, h, q, k: (q + offset >= k) & (q + offset - k < size)

    def prefix(length):
        return lambda offset: lambda b, h, q, k: (q + offset >= k) | ((q + offset < length) & (k < length))

    def documents(offset):
        # Clamped: kernels may evaluate the mask on padding rows past the last query.
        return lambda b, h, q, k: (q + offset >= k) & (document[b, (q + offset).clamp(max=context - 1)] == document[b, k])

    def softcap(offset):
        return lambda score, b, h, q, k: 50.0 * torch.tanh(score / 50.0)

    def alibi(offset):
        return lambda score, b, h, q, k: score + slopes[h] * (k - q - offset)

    return [("causal", causal, None),
            ("sliding window 1024", window(1024), None),
            ("soft-capping 50", causal, softcap),
            ("alibi", causal, alibi),
            ("prefix-lm 1024", prefix(1024), None),
            ("bidirectional (prefix-lm, whole sequence)", prefix(WIDE_PREFIX), None),
            ("documents of 1024", documents, None)]



def visible_pairs(mask_mod, batch, q_len, kv_len):
    """Visible (query, key) pairs, evaluated densely from the mask (head 0; no mask varies by head)."""
    b = torch.arange(batch, device="cuda")[:, None, None]
    q = torch.arange(q_len, device="cuda")[None, :, None]
    k = torch.arange(kv_len, device="cuda")[None, None, :]
    h = torch.zeros_like(b)
    return mask_mod(b, h, q, k).expand(batch, q_len, kv_len).sum().item()


def run(kind, shape, name, mask_factory, score_factory, compiled):
    batch, context, heads, kv_heads = shape["batch"], shape["context"], shape["num_heads"], shape["num_kv_heads"]
    q_len = context if kind == "prefill" else 1
    offset = 0 if kind == "prefill" else context - 1
    mask_mod = mask_factory(offset)
    score_mod = score_factory(offset) if score_factory else None
    q = torch.randn(batch, heads, q_len, HEAD_DIM, device="cuda", dtype=torch.bfloat16)
    k = torch.randn(batch, kv_heads, context, HEAD_DIM, device="cuda", dtype=torch.bfloat16)
    v = torch.randn_like(k)
    block_mask = create_block_mask(mask_mod, batch, None, q_len, context, device="cuda")
    ms = time_ms(lambda: compiled(q, k, v, score_mod=score_mod, block_mask=block_mask,
                                  enable_gqa=heads != kv_heads), 20)
    pairs = visible_pairs(mask_mod, batch, q_len, context)
    row = {"kind": kind, "modifier": name, "batch": batch, "context": context, "num_heads": heads,
           "num_kv_heads": kv_heads, "head_dim": HEAD_DIM, "ms": ms,
           "implementation": "torch flex_attention (compiled, block mask)"}
    if kind == "prefill":
        row["tflop_per_s"] = 4 * HEAD_DIM * heads * pairs / (ms * 1e-3) / 1e12
    else:
        row["tb_per_s"] = 2 * pairs * kv_heads * HEAD_DIM * 2 / (ms * 1e-3) / 1e12
    return row


def main():
    raise_recompile_limit()
    compiled = torch.compile(flex_attention)
    card = torch.cuda.get_device_name(0)
    rows = []
    for kind, shape in (("prefill", PREFILL), ("decode", DECODE)):
        for name, mask_factory, score_factory in modifiers(shape["num_heads"], shape["batch"], shape["context"]):
            rows.append(run(kind, shape, name, mask_factory, score_factory, compiled))
            print(json.dumps(dict(rows[-1], card=card, torch=torch.__version__)), flush=True)
    for context in (8192, 32768, 131072):
        shape = dict(DECODE, context=context)
        window = lambda offset: lambda b, h, q, k: (q + offset >= k) & (q + offset - k < 4096)
        rows.append(run("decode", shape, "sliding window 4096", window, None, compiled))
        print(json.dumps(dict(rows[-1], card=card, torch=torch.__version__)), flush=True)
    for row in rows:
        row.update(card=card, torch=torch.__version__)
    with open(sys.argv[1], "w") as f:
        json.dump(rows, f, indent=2)


if __name__ == "__main__":
    main()
