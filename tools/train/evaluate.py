#!/usr/bin/env python3
"""evaluate.py: measures the trained specd target/draft pair and writes report.json (GPU machine).

Loads both saved Hugging Face folders with transformers (LlamaForCausalLM, fp32 compute on the
bf16 weights) and measures on the held-out "test" files:
  - perplexity of each model over up to --ppl-windows non-overlapping windows of 1024 tokens;
  - greedy sample continuations (hand-written and held-out prompts) of both models;
  - the draft's acceptance rate for greedy speculative decoding, draft length k = 1..8.
Acceptance, exactly and cheaply: under greedy decoding the target's output T is fixed, so T is
generated once per prompt, the draft is run once over prompt + T, and the verify loop is
simulated for every k: at position p the draft's proposals are accepted while they match T (at
most k), the target then adds one token, p += accepted + 1. Reported per k: mean accepted draft
tokens per verification step, mean tokens per step (= accepted + 1) and accepted / proposed.
The simulation is checked once against a real draft-then-verify loop (asserted equal; the
report is written first). Training stats from train_model.py are merged into the report.
"""
import argparse
import json
import math
import random
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
import tokenizers
import transformers
from tokenizers import Tokenizer
from transformers import LlamaForCausalLM

# Prompts end on a non-space character: the byte-level BPE merges a newline with the
# indentation after it, so a prompt that ends in "\n" would split a token the models never saw.
HAND_PROMPTS = [
    'def fibonacci(n):\n    """Return the n-th Fibonacci number."""',
    "import os\nimport sys\n\n\ndef main(argv):",
    'class Stack:\n    """A last-in, first-out stack."""\n\n    def __init__(self):',
]


def load_model(path, dev):
    return LlamaForCausalLM.from_pretrained(path, dtype=torch.float32).to(dev).eval()


@torch.no_grad()
def perplexity(model, windows, batch=8):
    total, count = 0.0, 0
    for i in range(0, windows.shape[0], batch):
        w = windows[i:i + batch]
        logits = model(input_ids=w[:, :-1], use_cache=False).logits.float()
        total += F.cross_entropy(logits.flatten(0, 1), w[:, 1:].flatten(), reduction="sum").item()
        count += w[:, 1:].numel()
    return {"ppl": round(math.exp(total / count), 3), "nll": round(total / count, 4),
            "tokens": count, "windows": int(windows.shape[0])}


@torch.no_grad()
def greedy(model, ids, n, stop_id=None):
    """Greedy continuation of ids [B, P] by n tokens (full forward per token, no KV cache)."""
    seq = ids
    for _ in range(n):
        nxt = model(input_ids=seq, use_cache=False).logits[:, -1].argmax(-1, keepdim=True)
        seq = torch.cat([seq, nxt], dim=1)
        if stop_id is not None and seq.shape[0] == 1 and int(nxt) == stop_id:
            break
    return seq[:, ids.shape[1]:]


def simulate(match, k):
    """Verify loop over one prompt. match[g]: the draft's greedy guess for generated token g,
    given the true prefix, equals the target's. Returns (steps, accepted, proposed)."""
    n, p, steps, accepted, proposed = len(match), 0, 0, 0, 0
    while p < n:
        cap = min(k, n - p - 1)  # never run past the n known target tokens
        a = 0
        while a < cap and match[p + a]:
            a += 1
        steps, accepted, proposed = steps + 1, accepted + a, proposed + cap
        p += a + 1
    return steps, accepted, proposed


@torch.no_grad()
def real_spec_decode(target, draft, prompt, n, k):
    """Plain draft-then-verify loop (greedy, no KV cache) for one prompt [P].
    Returns (generated tokens, steps, accepted, proposed)."""
    seq = prompt.tolist()
    start = len(seq)
    steps = accepted = proposed = 0
    while len(seq) - start < n:
        cap = min(k, n - (len(seq) - start) - 1)
        d = list(seq)
        for _ in range(cap):
            logits = draft(input_ids=torch.tensor([d], device=prompt.device), use_cache=False).logits
            d.append(int(logits[0, -1].argmax()))
        drafts = d[len(seq):]
        logits = target(input_ids=torch.tensor([d], device=prompt.device), use_cache=False).logits
        verify = logits[0, len(seq) - 1:].argmax(-1).tolist()  # cap + 1 target choices
        a = 0
        while a < cap and drafts[a] == verify[a]:
            a += 1
        seq += drafts[:a] + [verify[a]]
        steps, accepted, proposed = steps + 1, accepted + a, proposed + cap
    return seq[start:], steps, accepted, proposed


def heldout_sample_prompts(texts, n, rng):
    """Short prompts ending with a method header, cut from held-out files."""
    order = list(range(len(texts)))
    rng.shuffle(order)
    out = []
    for i in order:
        text = texts[i]
        j = text.find("\n    def ", 1500)  # skip license headers and imports
        if j < 0:
            continue
        end = text.find("\n", j + 1)
        start = text.rfind("\n", 0, max(0, j - 240)) + 1
        if end > start:
            out.append(text[start:end].rstrip())
        if len(out) == n:
            break
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--target", required=True)
    ap.add_argument("--draft", required=True)
    ap.add_argument("--data-dir", required=True)
    ap.add_argument("--train-stats", nargs=2, required=True, metavar=("TARGET", "DRAFT"))
    ap.add_argument("--out", required=True, help="report.json")
    ap.add_argument("--ppl-windows", type=int, default=128)
    ap.add_argument("--num-prompts", type=int, default=64)
    ap.add_argument("--prompt-len", type=int, default=128)
    ap.add_argument("--new-tokens", type=int, default=128)
    ap.add_argument("--sample-tokens", type=int, default=96)
    ap.add_argument("--spot-check-k", type=int, default=4)
    ap.add_argument("--seed", type=int, default=1234)
    args = ap.parse_args()
    t0 = time.time()
    random.seed(args.seed)
    torch.manual_seed(args.seed)
    dev = torch.device("cuda")
    rng = random.Random(args.seed)

    with open(f"{args.data_dir}/manifest.json") as f:
        manifest = json.load(f)
    ids = manifest["special_ids"]
    bos, eos, eot = ids["<|bos|>"], ids["<|eos|>"], ids["<|endoftext|>"]
    tok = Tokenizer.from_file(f"{args.target}/tokenizer.json")
    test = np.load(f"{args.data_dir}/tokens_test.npy").astype(np.int64)
    # Held-out documents: content tokens between <|bos|> and <|eos|>.
    starts = np.flatnonzero(test == bos)
    docs = []
    for s, e in zip(starts, list(starts[1:]) + [len(test)]):
        doc = test[s + 1:e].tolist()
        while doc and doc[-1] in (eos, eot):
            doc.pop()
        docs.append(doc)
    target, draft = load_model(args.target, dev), load_model(args.draft, dev)
    report = {
        "device": torch.cuda.get_device_name(),
        "versions": {"python": sys.version.split()[0], "torch": torch.__version__,
                     "transformers": transformers.__version__, "tokenizers": tokenizers.__version__},
        "tokenizer": {"vocab_size": manifest["vocab_size"], "special_ids": ids,
                      "doc_layout": manifest["doc_layout"]},
        "corpus": {"sha256": manifest["corpus_sha256"], "split_rule": manifest["split_rule"],
                   **{f"{s}_{k}": v[k] for s, v in manifest["splits"].items()
                      for k in ("num_files", "tokens", "bytes")},
                   "test_files": manifest["splits"]["test"]["files"],
                   "val_files": manifest["splits"]["val"]["files"]},
        "models": {},
    }
    for name, path in (("target", args.train_stats[0]), ("draft", args.train_stats[1])):
        with open(path) as f:
            report["models"][name] = json.load(f)

    def save():  # after every section, so a later failure keeps what was measured
        report["eval_seconds"] = round(time.time() - t0, 1)
        with open(args.out, "w") as f:
            json.dump(report, f, indent=1)

    # 1. Held-out perplexity.
    L = report["models"]["target"]["context"]
    n_win = min(args.ppl_windows, (len(test) - 1) // L)
    windows = torch.stack([torch.from_numpy(test[i * L:i * L + L + 1]) for i in range(n_win)]).to(dev)
    for name, model in (("target", target), ("draft", draft)):
        report["models"][name]["heldout"] = perplexity(model, windows)
        print(f"{name}: held-out {report['models'][name]['heldout']}")
    save()

    # 2. Acceptance rate of the draft against the target (greedy).
    P, N = args.prompt_len, args.new_tokens
    eligible = [d for d in docs if len(d) >= P - 1]
    prompts = []
    for i in range(args.num_prompts):
        d = eligible[i % len(eligible)]
        off = rng.randrange(0, len(d) - (P - 1) + 1)
        prompts.append([bos] + d[off:off + P - 1])
    prompts = torch.tensor(prompts, device=dev)  # [num_prompts, P]
    T = greedy(target, prompts, N)  # [num_prompts, N]
    full = torch.cat([prompts, T], dim=1)
    with torch.no_grad():
        guess = draft(input_ids=full, use_cache=False).logits.argmax(-1)  # guess[:, i] ~ full[:, i+1]
    match = (guess[:, P - 1:P + N - 1] == T).cpu().tolist()  # [num_prompts, N]
    by_k = []
    for k in range(1, 9):
        steps = accepted = proposed = 0
        for row in match:
            s, a, pr = simulate(row, k)
            steps, accepted, proposed = steps + s, accepted + a, proposed + pr
        by_k.append({"k": k, "mean_accepted": round(accepted / steps, 4),
                     "mean_tokens_per_step": round((accepted + steps) / steps, 4),
                     "acceptance_rate": round(accepted / proposed, 4),
                     "steps": steps, "accepted": accepted, "proposed": proposed})
        print(f"k={k}: {by_k[-1]}")
    acc = {"num_prompts": len(match), "prompt_len": P, "new_tokens": N,
           "draft_top1_agreement": round(float(np.mean(match)), 4), "by_k": by_k}
    report["acceptance"] = acc
    save()

    # Spot check: the simulation against a real draft-then-verify loop.
    k = args.spot_check_k
    real_tokens, r_steps, r_acc, r_prop = real_spec_decode(target, draft, prompts[0], N, k)
    s_steps, s_acc, s_prop = simulate(match[0], k)
    spot = {"prompt": 0, "k": k, "real": [r_steps, r_acc, r_prop], "simulated": [s_steps, s_acc, s_prop],
            "output_equals_target_greedy": real_tokens == T[0].tolist()}
    spot["ok"] = spot["real"] == spot["simulated"] and spot["output_equals_target_greedy"]
    acc["spot_check"] = spot
    print(f"spot check: {spot}")
    save()

    # Cross-checks that must not stop the run: generate() with KV cache, AutoTokenizer.
    checks = {}
    try:
        g = target.generate(prompts[:1], attention_mask=torch.ones_like(prompts[:1]),
                            max_new_tokens=32, do_sample=False)
        gen = g[0, P:].tolist()
        checks["generate_kv_cache_matches_greedy"] = gen == T[0, :len(gen)].tolist()
    except Exception as e:  # noqa: BLE001
        checks["generate_kv_cache_matches_greedy"] = f"error: {e!r}"
    try:  # transformers' own assisted generation with the draft
        g = target.generate(prompts[:1], attention_mask=torch.ones_like(prompts[:1]),
                            max_new_tokens=32, do_sample=False, assistant_model=draft)
        gen = g[0, P:].tolist()
        checks["assisted_generate_matches_greedy"] = gen == T[0, :len(gen)].tolist()
    except Exception as e:  # noqa: BLE001
        checks["assisted_generate_matches_greedy"] = f"error: {e!r}"
    try:
        from transformers import AutoTokenizer
        at = AutoTokenizer.from_pretrained(args.target)
        checks["autotokenizer_matches"] = at(HAND_PROMPTS[0])["input_ids"] == tok.encode(HAND_PROMPTS[0]).ids
    except Exception as e:  # noqa: BLE001
        checks["autotokenizer_matches"] = f"error: {e!r}"
    print(f"checks: {checks}")
    report["checks"] = checks
    save()

    # 3. Sample continuations (greedy, stop at <|eos|>).
    texts = [tok.decode(d, skip_special_tokens=False) for d in docs]
    samples = []
    for kind, prompt in [("hand-written", p) for p in HAND_PROMPTS] + \
            [("held-out", p) for p in heldout_sample_prompts(texts, 3, rng)]:
        ids_in = torch.tensor([tok.encode(prompt).ids], device=dev)
        entry = {"kind": kind, "prompt": prompt}
        for name, model in (("target", target), ("draft", draft)):
            out = greedy(model, ids_in, args.sample_tokens, stop_id=eos)[0].tolist()
            entry[name] = tok.decode(out, skip_special_tokens=False)
        samples.append(entry)
        print(f"--- {kind} prompt + target continuation ---\n{prompt}{entry['target']}\n")
    report["samples"] = samples
    save()
    print(f"report -> {args.out} ({report['eval_seconds']}s)")
    if not spot["ok"]:
        sys.exit("spot check FAILED: simulated acceptance differs from the real verify loop")


if __name__ == "__main__":
    main()
