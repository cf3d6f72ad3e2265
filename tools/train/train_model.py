#!/usr/bin/env python3
"""train_model.py: trains one model of the specd target/draft pair (GPU machine).

Reads what train_tokenizer.py wrote (--data-dir), builds a Llama-architecture model of the given
--size with transformers, and trains it with PyTorch (fp32 master weights, bf16 autocast, AdamW,
warmup then cosine decay over a wall-clock budget) until --budget-s seconds have passed (or
--max-epochs, if set). The data order is fixed by --seed: each step takes --batch random
contiguous windows of seq_len+1 tokens from the train stream. Every --eval-every-s seconds the
loss on the "val" files is measured and the best weights are kept (the corpus is small, so a long
run can overfit); those are saved.
Output: a Hugging Face folder (config.json, model*.safetensors in bf16 with every file under
16 MB, generation_config.json, tokenizer.json, tokenizer_config.json), verified by reloading
it with LlamaForCausalLM.from_pretrained and comparing logits, and --stats-out (JSON).
"""
import argparse
import json
import math
import os
import random
import shutil
import time

import numpy as np
import torch
import torch.nn.functional as F
from transformers import GenerationConfig, LlamaConfig, LlamaForCausalLM

SIZES = {
    # ~12.6 M parameters (3.1 M of them the tied embedding).
    "target": dict(num_hidden_layers=6, hidden_size=384, num_attention_heads=6,
                   num_key_value_heads=2, head_dim=64, intermediate_size=1024),
    # ~1.4 M parameters (1.0 M of them the tied embedding); same head_dim as the target.
    "draft": dict(num_hidden_layers=2, hidden_size=128, num_attention_heads=2,
                  num_key_value_heads=1, head_dim=64, intermediate_size=384),
}
MAX_FILE_BYTES = 16 * 1000 * 1000


def build_config(size, manifest, seq_len):
    ids = manifest["special_ids"]
    return LlamaConfig(
        vocab_size=int(manifest["vocab_size"]),
        max_position_embeddings=seq_len,
        rope_parameters={"rope_type": "default", "rope_theta": 10000.0},
        rms_norm_eps=1e-5,
        initializer_range=0.02,
        hidden_act="silu",
        attention_bias=False,
        mlp_bias=False,
        tie_word_embeddings=True,
        bos_token_id=int(ids["<|bos|>"]),
        eos_token_id=int(ids["<|eos|>"]),
        pad_token_id=int(ids["<|pad|>"]),
        **SIZES[size],
    )


def add_dropout(model, p):
    """Residual dropout on the attention and MLP outputs during training (hooks; not saved)."""
    def hook(module, inputs, output):
        if isinstance(output, tuple):
            return (F.dropout(output[0], p, module.training),) + tuple(output[1:])
        return F.dropout(output, p, module.training)
    handles = []
    for layer in model.model.layers:
        handles.append(layer.self_attn.register_forward_hook(hook))
        handles.append(layer.mlp.register_forward_hook(hook))
    return handles


@torch.no_grad()
def mean_loss(model, windows, batch=8):
    """Mean next-token cross-entropy over windows [n, seq_len + 1] (bf16 autocast)."""
    was_training = model.training
    model.eval()
    total, count = 0.0, 0
    for i in range(0, windows.shape[0], batch):
        w = windows[i:i + batch]
        with torch.autocast("cuda", dtype=torch.bfloat16):
            logits = model(input_ids=w[:, :-1], use_cache=False).logits
        total += F.cross_entropy(logits.float().flatten(0, 1), w[:, 1:].flatten(),
                                 reduction="sum").item()
        count += w[:, 1:].numel()
    model.train(was_training)
    return total / count


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", choices=sorted(SIZES), required=True)
    ap.add_argument("--data-dir", required=True)
    ap.add_argument("--out", required=True, help="Hugging Face folder to write")
    ap.add_argument("--stats-out", required=True)
    ap.add_argument("--budget-s", type=float, required=True, help="wall-clock training budget")
    ap.add_argument("--max-epochs", type=float, default=0.0, help="0: no limit")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--seq-len", type=int, default=1024)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--min-lr-frac", type=float, default=0.1)
    ap.add_argument("--warmup-steps", type=int, default=100)
    ap.add_argument("--weight-decay", type=float, default=0.1)
    ap.add_argument("--dropout", type=float, default=0.0)
    ap.add_argument("--eval-every-s", type=float, default=20.0)
    ap.add_argument("--val-windows", type=int, default=32)
    ap.add_argument("--seed", type=int, default=1234)
    args = ap.parse_args()

    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    torch.cuda.manual_seed_all(args.seed)
    dev = torch.device("cuda")
    L, B = args.seq_len, args.batch
    with open(os.path.join(args.data_dir, "manifest.json")) as f:
        manifest = json.load(f)

    def load_stream(split):
        arr = np.load(os.path.join(args.data_dir, f"tokens_{split}.npy")).astype(np.int64)
        return torch.from_numpy(arr).to(dev)

    train, val = load_stream("train"), load_stream("val")
    n_val = min(args.val_windows, (val.numel() - 1) // L)
    val_windows = torch.stack([val[i * L:i * L + L + 1] for i in range(n_val)])
    print(f"[{args.size}] train tokens {train.numel()}, val windows {n_val} x {L}")

    config = build_config(args.size, manifest, L)
    model = LlamaForCausalLM(config)
    emb, head = model.model.embed_tokens.weight, model.lm_head.weight
    if emb.data_ptr() != head.data_ptr():
        model.tie_weights()
    assert model.model.embed_tokens.weight.data_ptr() == model.lm_head.weight.data_ptr(), \
        "embedding and lm_head must be tied"
    model.to(dev).train()
    n_params = sum(p.numel() for p in model.parameters())  # tied weight counted once
    n_embed = model.model.embed_tokens.weight.numel()
    print(f"[{args.size}] {SIZES[args.size]} -> {n_params:,} parameters "
          f"({n_params - n_embed:,} without the embedding)")
    hooks = add_dropout(model, args.dropout) if args.dropout > 0 else []

    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": args.weight_decay},
                             {"params": no_decay, "weight_decay": 0.0}],
                            lr=args.lr, betas=(0.9, 0.95), eps=1e-8, fused=True)
    data_gen = torch.Generator().manual_seed(args.seed)  # fixed data order
    offsets = torch.arange(L + 1, device=dev)
    max_tokens = args.max_epochs * train.numel() if args.max_epochs > 0 else math.inf

    def lr_at(step, frac):
        if step < args.warmup_steps:
            return args.lr * (step + 1) / args.warmup_steps
        cos = 0.5 * (1.0 + math.cos(math.pi * min(frac, 1.0)))
        return args.lr * (args.min_lr_frac + (1.0 - args.min_lr_frac) * cos)

    best = {"val_loss": math.inf}
    curve = []

    def check_val(step, tokens, elapsed):
        vl = mean_loss(model, val_windows)
        curve.append({"step": step, "tokens": tokens, "seconds": round(elapsed, 1),
                      "val_loss": round(vl, 4)})
        mark = ""
        if vl < best["val_loss"]:
            best.update(val_loss=vl, step=step, tokens=tokens, seconds=elapsed,
                        state={k: v.detach().clone() for k, v in model.state_dict().items()})
            mark = " (best)"
        print(f"[{args.size}] step {step} tokens {tokens} val_loss {vl:.4f} "
              f"ppl {math.exp(vl):.2f}{mark}")

    step, tokens, loss_sum, loss_n = 0, 0, torch.zeros((), device=dev), 0
    next_eval = args.eval_every_s
    torch.cuda.synchronize()
    t0 = time.time()
    while True:
        elapsed = time.time() - t0
        frac = max(elapsed / args.budget_s, tokens / max_tokens)
        if frac >= 1.0:
            break
        lr = lr_at(step, frac)
        for g in opt.param_groups:
            g["lr"] = lr
        if step % 1000 == 0:  # window starts for the next 1000 steps, one host-to-device copy
            starts = torch.randint(0, train.numel() - L - 1, (1000, B), generator=data_gen).to(dev)
        w = train[starts[step % 1000][:, None] + offsets]  # [B, L + 1]
        with torch.autocast("cuda", dtype=torch.bfloat16):
            logits = model(input_ids=w[:, :-1], use_cache=False).logits  # [B, L, vocab]
        loss = F.cross_entropy(logits.float().flatten(0, 1), w[:, 1:].flatten())
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        tokens += B * L
        loss_sum += loss.detach()
        loss_n += 1
        if step % 100 == 0:
            el = time.time() - t0
            print(f"[{args.size}] step {step} {el:.0f}s tokens {tokens} "
                  f"epochs {tokens / train.numel():.2f} loss {loss_sum.item() / loss_n:.4f} "
                  f"lr {lr:.2e} {tokens / el:,.0f} tok/s")
            loss_sum.zero_()
            loss_n = 0
        if elapsed >= next_eval:
            check_val(step, tokens, time.time() - t0)
            next_eval += args.eval_every_s
    torch.cuda.synchronize()
    train_seconds = time.time() - t0
    check_val(step, tokens, train_seconds)
    print(f"[{args.size}] trained {step} steps, {tokens} tokens "
          f"({tokens / train.numel():.2f} epochs) in {train_seconds:.1f}s; "
          f"keeping step {best['step']} (val_loss {best['val_loss']:.4f})")

    # Keep the best weights, rounded to bf16 (what is saved); reference logits in fp32.
    for h in hooks:
        h.remove()
    model.load_state_dict(best.pop("state"))
    model.eval()
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(p.to(torch.bfloat16).float())
        probe = val_windows[:2, :-1]
        ref_logits = model(input_ids=probe, use_cache=False).logits.float()

    ids = manifest["special_ids"]
    gen_cfg = GenerationConfig(bos_token_id=int(ids["<|bos|>"]), eos_token_id=int(ids["<|eos|>"]),
                               pad_token_id=int(ids["<|pad|>"]), do_sample=False)
    model.to(torch.bfloat16)
    if os.path.isdir(args.out):
        shutil.rmtree(args.out)
    model.save_pretrained(args.out, max_shard_size="12MB")
    model.config.save_pretrained(args.out)  # explicit: config.json with "dtype": "bfloat16"
    gen_cfg.save_pretrained(args.out)
    shutil.copy(os.path.join(args.data_dir, "tokenizer.json"), args.out)
    with open(os.path.join(args.out, "tokenizer_config.json"), "w") as f:
        json.dump({"tokenizer_class": "PreTrainedTokenizerFast", "bos_token": "<|bos|>",
                   "eos_token": "<|eos|>", "pad_token": "<|pad|>", "model_max_length": L,
                   "clean_up_tokenization_spaces": False}, f, indent=2)
    files = {n: os.path.getsize(os.path.join(args.out, n)) for n in sorted(os.listdir(args.out))}
    print(f"[{args.size}] saved {args.out}: {files}")
    for n in ("config.json", "generation_config.json", "tokenizer.json"):
        assert n in files, f"missing {n}"
    assert any(n.endswith(".safetensors") for n in files), "no safetensors written"
    assert max(files.values()) < MAX_FILE_BYTES, "a file is over 16 MB"

    # Verify: transformers reloads the folder to the same logits (fp32 on bf16 weights).
    reloaded = LlamaForCausalLM.from_pretrained(args.out, dtype=torch.float32).to(dev).eval()
    assert sum(p.numel() for p in reloaded.parameters()) == n_params
    with torch.no_grad():
        new_logits = reloaded(input_ids=probe, use_cache=False).logits.float()
    max_diff = (new_logits - ref_logits).abs().max().item()
    print(f"[{args.size}] reload check: max |logit diff| = {max_diff:.3e}")
    assert max_diff < 1e-2, f"reloaded model differs: {max_diff}"
    reloaded_val = mean_loss(reloaded, val_windows)

    stats = {
        "size": args.size,
        "architecture": SIZES[args.size],
        "vocab_size": int(manifest["vocab_size"]),
        "context": L,
        "parameters": n_params,
        "parameters_without_embedding": n_params - n_embed,
        "device": torch.cuda.get_device_name(),
        "budget_s": args.budget_s,
        "train_seconds": round(train_seconds, 1),
        "steps": step,
        "tokens_seen": tokens,
        "epochs_seen": round(tokens / train.numel(), 2),
        "tokens_per_second": round(tokens / train_seconds),
        "saved_step": best["step"],
        "saved_tokens": best["tokens"],
        "saved_seconds": round(best["seconds"], 1),
        "val_loss_saved": round(best["val_loss"], 4),
        "val_loss_saved_weights": round(reloaded_val, 4),
        "val_curve": curve,
        "train_tokens": int(train.numel()),
        "hyper": {k: getattr(args, k) for k in ("batch", "lr", "min_lr_frac", "warmup_steps",
                                                "weight_decay", "dropout", "max_epochs", "seed")},
        "files": files,
        "reload_max_abs_logit_diff": max_diff,
    }
    with open(args.stats_out, "w") as f:
        json.dump(stats, f, indent=1)
    print(f"[{args.size}] stats -> {args.stats_out}")


if __name__ == "__main__":
    main()
