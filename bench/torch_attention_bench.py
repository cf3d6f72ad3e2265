"""PyTorch's attention on the shapes of specd_bench_attention, in the same call, as the baseline.

decode: scaled_dot_product_attention over contiguous (not paged) K/V, q [b, 32, 1, 128],
        k/v [b, 8, context, 128] with enable_gqa, bf16; TB/s = K and V bytes / time.
prefill: causal, 4 x 4096, 32 heads, head dim 128, bf16, through the FlashAttention-2 and cuDNN
        backends; TFLOP/s counting the causal half (4 * s^2 * d / 2 per head and sequence).
Times are CUDA-event means after a warm-up. Prints JSON lines; writes them as an array to argv[1].

usage: python3 bench/torch_attention_bench.py OUT.json
"""
import json
import sys

import torch
import torch.nn.functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel

HEAD_DIM = 128


def time_ms(fn, iterations):
    for _ in range(3):
        fn()
    start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record()
    for _ in range(iterations):
        fn()
    stop.record()
    torch.cuda.synchronize()
    return start.elapsed_time(stop) / iterations


def decode(batch, context):
    q = torch.randn(batch, 32, 1, HEAD_DIM, device="cuda", dtype=torch.bfloat16)
    k = torch.randn(batch, 8, context, HEAD_DIM, device="cuda", dtype=torch.bfloat16)
    v = torch.randn_like(k)
    ms = time_ms(lambda: F.scaled_dot_product_attention(q, k, v, enable_gqa=True), 50)
    kv_bytes = 2 * k.numel() * k.element_size()
    return {"kind": "decode", "batch": batch, "context": context, "num_heads": 32, "num_kv_heads": 8,
            "implementation": "torch sdpa (contiguous kv)", "ms": ms, "tb_per_s": kv_bytes / (ms * 1e-3) / 1e12}


def prefill(backend, name):
    q, k, v = (torch.randn(4, 32, 4096, HEAD_DIM, device="cuda", dtype=torch.bfloat16) for _ in range(3))
    with sdpa_kernel(backend):
        ms = time_ms(lambda: F.scaled_dot_product_attention(q, k, v, is_causal=True), 10)
    flops = 4 * 4 * 32 * 4096 * 4096 * HEAD_DIM / 2
    return {"kind": "prefill", "batch": 4, "context": 4096, "num_heads": 32, "num_kv_heads": 32,
            "implementation": f"torch sdpa {name}", "ms": ms, "tflop_per_s": flops / (ms * 1e-3) / 1e12}


def main():
    card = torch.cuda.get_device_name(0)
    rows = [decode(32, 4096), decode(1, 65536), decode(1, 8192),
            prefill(SDPBackend.FLASH_ATTENTION, "flash-attention-2"), prefill(SDPBackend.CUDNN_ATTENTION, "cudnn")]
    for row in rows:
        row.update(card=card, torch=torch.__version__)
        print(json.dumps(row), flush=True)
    with open(sys.argv[1], "w") as f:
        json.dump(rows, f, indent=2)


if __name__ == "__main__":
    main()
