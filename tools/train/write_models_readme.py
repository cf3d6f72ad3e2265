#!/usr/bin/env python3
"""write_models_readme.py: turns the GPU run's report.json into models/README.md.

Runs on the dev machine with the standard library only:
    python3 tools/train/write_models_readme.py --report report.json --out models/README.md
Every number in the README comes from report.json (written by evaluate.py on the GPU machine).
"""
import argparse
import json


def millions(n):
    return f"{n / 1e6:.2f} M"


def table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def code(text):
    return "````python\n" + text.rstrip("\n") + "\n````"


def render(r):
    t, d = r["models"]["target"], r["models"]["draft"]
    c, acc, v = r["corpus"], r["acceptance"], r["versions"]

    def arch(m):
        a = m["architecture"]
        return (f"{a['num_hidden_layers']} / {a['hidden_size']} / {a['num_attention_heads']} "
                f"({a['num_key_value_heads']}) / {a['head_dim']} / {a['intermediate_size']}")

    def files(m):
        return ", ".join(f"`{n}` ({s / 1e6:.1f} MB)" if s >= 100_000 else f"`{n}`"
                         for n, s in m["files"].items())

    rows = [
        ["folder", "`models/specd-code-target`", "`models/specd-code-draft`"],
        ["layers / hidden / heads (KV heads) / head dim / MLP", arch(t), arch(d)],
        ["parameters (tied embedding counted once)", f"{t['parameters']:,} ({millions(t['parameters'])})",
         f"{d['parameters']:,} ({millions(d['parameters'])})"],
        ["parameters without the embedding", f"{t['parameters_without_embedding']:,}",
         f"{d['parameters_without_embedding']:,}"],
        ["context / vocabulary", f"{t['context']} / {t['vocab_size']}", f"{d['context']} / {d['vocab_size']}"],
        ["training time (wall clock, budget)", f"{t['train_seconds']} s ({t['budget_s']:g} s)",
         f"{d['train_seconds']} s ({d['budget_s']:g} s)"],
        ["training steps / tokens seen (epochs)",
         f"{t['steps']:,} / {t['tokens_seen']:,} ({t['epochs_seen']})",
         f"{d['steps']:,} / {d['tokens_seen']:,} ({d['epochs_seen']})"],
        ["throughput", f"{t['tokens_per_second']:,} tokens/s", f"{d['tokens_per_second']:,} tokens/s"],
        ["saved checkpoint: step / tokens trained (best val loss)",
         f"{t['saved_step']:,} / {t['saved_tokens']:,} ({t['val_loss_saved']})",
         f"{d['saved_step']:,} / {d['saved_tokens']:,} ({d['val_loss_saved']})"],
        ["**held-out perplexity**", f"**{t['heldout']['ppl']}**", f"**{d['heldout']['ppl']}**"],
        ["held-out loss (nats/token) over tokens", f"{t['heldout']['nll']} over {t['heldout']['tokens']:,}",
         f"{d['heldout']['nll']} over {d['heldout']['tokens']:,}"],
        ["files", files(t), files(d)],
    ]
    hyper = lambda m: ", ".join(f"{k} {v}" for k, v in m["hyper"].items())  # noqa: E731
    ids = r["tokenizer"]["special_ids"]
    acc_rows = [[b["k"], b["mean_accepted"], b["mean_tokens_per_step"], b["acceptance_rate"], b["steps"]]
                for b in acc["by_k"]]
    spot = acc["spot_check"]
    checks = r.get("checks", {})

    out = [
        "# specd-code: the bundled target/draft model pair",
        "",
        "Two small Llama-architecture models trained from scratch on Python source code, shipped",
        "with specd so that the default demo prints real text and speculative decoding has a real",
        "acceptance rate. `specd-code-target` is the model the README's run command serves;",
        "`specd-code-draft` is its draft model (same tokenizer). Both are Hugging Face folders",
        "(bf16 safetensors, `config.json`, `generation_config.json`, `tokenizer.json`) that",
        "`transformers.LlamaForCausalLM.from_pretrained` loads.",
        "",
        f"Every number below was measured by the run that produced these weights: {r['device']},",
        f"Python {v['python']}, torch {v['torch']}, transformers {v['transformers']}, "
        f"tokenizers {v['tokenizers']}. How to rerun it: `tools/train/README.md`.",
        "",
        "## Models",
        "",
        table(["", "target", "draft"], rows),
        "",
        "Training: AdamW (fp32 master weights, bf16 autocast), batch of random 1024-token windows,",
        "linear warmup then cosine decay over a wall-clock budget, fixed seed and data order. The",
        "validation loss is measured during training and the best weights are saved.",
        f"Target: {hyper(t)}. Draft: {hyper(d)}.",
        "",
        "## Tokenizer and corpus",
        "",
        f"Byte-level BPE, {r['tokenizer']['vocab_size']} tokens, trained with Hugging Face `tokenizers` on the",
        "training files. Special tokens: " + ", ".join(f"`{k}` = {i}" for k, i in ids.items()) + ".",
        "The tokenizer's post-processor puts `<|bos|>` in front of a prompt. In training every source",
        f"file is `{r['tokenizer']['doc_layout']}`, so a model ends a file with `<|eos|>` (its stop token).",
        "",
        "Corpus: the Python standard library of Debian 12 (`/usr/lib/python3.11`) without test suites,",
        "site-/dist-packages and generated tables (`tools/train/pack_corpus.sh`; archive sha256",
        f"`{c['sha256'][:16]}…`). Files are split by `{c['split_rule']}`:",
        "",
        table(["split", "files", "bytes", "tokens"],
              [[s, c[f"{s}_num_files"], f"{c[f'{s}_bytes']:,}", f"{c[f'{s}_tokens']:,}"]
               for s in ("train", "val", "test")]),
        "",
        "`test` is held out for the numbers in this file; `val` is held out too and is used only",
        "to pick the saved checkpoint. Held-out test files: " +
        ", ".join(f"`{p}`" for p in c["test_files"]) + ".",
        "",
        "## Speculative decoding: acceptance of the draft",
        "",
        f"Greedy decoding, {acc['num_prompts']} held-out code prompts of {acc['prompt_len']} tokens, "
        f"{acc['new_tokens']} new tokens each. For",
        "draft length k, each verification step accepts the draft's proposals while they equal the",
        "target's greedy tokens (at most k) and the target adds one token. *Mean accepted* is accepted",
        "draft tokens per verification step; *tokens per step* = accepted + 1; *acceptance rate* is",
        "accepted / proposed draft tokens. Measured with transformers; the draft's top-1 agreement with",
        f"the target on these positions is {acc['draft_top1_agreement']}.",
        "",
        table(["k", "mean accepted", "tokens per step", "acceptance rate", "verification steps"], acc_rows),
        "",
        f"Check: a real draft-then-verify loop on prompt {spot['prompt']} with k = {spot['k']} gave "
        f"(steps, accepted, proposed) = {tuple(spot['real'])}, the simulation "
        f"{tuple(spot['simulated'])}; output equal to the target's greedy output: "
        f"{spot['output_equals_target_greedy']}.",
    ]
    if checks:
        out += ["Other checks: " + "; ".join(f"{k}: {v}" for k, v in checks.items()) + "."]
    out += ["", "## Use with transformers", "", code(
        "import torch\n"
        "from tokenizers import Tokenizer\n"
        "from transformers import LlamaForCausalLM\n\n"
        "tok = Tokenizer.from_file(\"models/specd-code-target/tokenizer.json\")\n"
        "target = LlamaForCausalLM.from_pretrained(\"models/specd-code-target\", dtype=torch.float32)\n"
        "draft = LlamaForCausalLM.from_pretrained(\"models/specd-code-draft\", dtype=torch.float32)\n"
        "ids = torch.tensor([tok.encode(\"def fibonacci(n):\\n\").ids])  # <|bos|> is added\n"
        "out = target.generate(ids, max_new_tokens=64, do_sample=False, assistant_model=draft)\n"
        "print(tok.decode(out[0].tolist()))")]
    out += ["", "## Samples", "",
            "Greedy continuations (up to 96 tokens, or until `<|eos|>`) of hand-written prompts and of",
            "prompts cut from held-out files; the continuations are unedited.", ""]
    for i, s in enumerate(r["samples"], 1):
        out += [f"### {i}. {s['kind']} prompt", "", code(s["prompt"]), "",
                "Target (prompt + continuation):", "", code(s["prompt"] + s["target"]), "",
                "Draft (prompt + continuation):", "", code(s["prompt"] + s["draft"]), ""]
    return "\n".join(out).rstrip("\n") + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--report", required=True)
    ap.add_argument("--out", default="models/README.md")
    args = ap.parse_args()
    with open(args.report) as f:
        report = json.load(f)
    text = render(report)
    with open(args.out, "w") as f:
        f.write(text)
    print(f"wrote {args.out} ({len(text)} bytes)")


if __name__ == "__main__":
    main()
