"""Merges the raw results of bench/run_gpu_benchmarks.sh into one JSON naming the card
(OUT/cuda_runner_<card>.json, to be copied to bench/results/) and prints a table with each
specd figure next to PyTorch's from the same call and the issue's target.

usage: python3 bench/gpu_report.py OUT_DIR
"""
import json
import os
import re
import sys

DECODE_TARGET_TB_S = {(32, 4096): 2.5, (1, 65536): 2.5, (1, 8192): 1.8}
PREFILL_TARGET_TFLOP_S = 350
DECODE_TARGET_MS = {"llama-3.1-8b": 7.0}


def load(out, name):
    with open(os.path.join(out, name)) as f:
        return json.load(f)


def attention_rows(out):
    specd, torch = load(out, "attention_specd.json"), load(out, "attention_torch.json")
    rows = []
    for s in specd:
        key = (s["kind"], s["batch"], s["context"])
        baselines = [t for t in torch if (t["kind"], t["batch"], t["context"]) == key]
        if s["kind"] == "decode":
            unit, target = "tb_per_s", DECODE_TARGET_TB_S[(s["batch"], s["context"])]
        else:
            unit, target = "tflop_per_s", PREFILL_TARGET_TFLOP_S
        for t in baselines:
            rows.append({"case": f'{s["kind"]} {s["batch"]}x{s["context"]}, {s["implementation"][23:]}', "unit": unit, "specd": s[unit],
                         "baseline": t["implementation"], "baseline_value": t[unit], "ratio": s[unit] / t[unit],
                         "target": target, "meets_target": s[unit] >= target})
    return rows


def decode_rows(out):
    rows = []
    for shape in ("llama-3.2-1b", "llama-3.1-8b"):
        s = load(out, f"decode_specd_{shape}.json")
        target = DECODE_TARGET_MS.get(shape)
        for t in load(out, f"decode_torch_{shape}.json"):
            rows.append({"case": f"decode batch 1, {shape}", "unit": "ms_per_token", "specd": s["ms_per_token_mean"],
                         "baseline": t["implementation"], "baseline_value": t["ms_per_token_mean"],
                         "ratio": t["ms_per_token_mean"] / s["ms_per_token_mean"],
                         "fraction_of_weight_read_limit": s["fraction_of_limit"],
                         "copy_bandwidth_tb_per_s": s["copy_bandwidth_tb_per_s"], "target": target,
                         "meets_target": None if target is None else s["ms_per_token_mean"] <= target})
    return rows


def tuning_rows(out):
    rows = []
    for shape in ("llama-3.2-1b", "llama-3.1-8b"):
        tuned, untuned = load(out, f"decode_specd_{shape}.json"), load(out, f"decode_specd_{shape}_untuned.json")
        rows.append({"case": f"decode batch 1, {shape}", "unit": "ms_per_token", "specd": tuned["ms_per_token_mean"],
                     "baseline": "specd, cuBLASLt heuristic for small GEMMs", "baseline_value": untuned["ms_per_token_mean"],
                     "ratio": untuned["ms_per_token_mean"] / tuned["ms_per_token_mean"], "target": None,
                     "meets_target": None})
    return rows


def main():
    out = sys.argv[1]
    card = load(out, "attention_specd.json")[0]["card"]
    rows = attention_rows(out) + decode_rows(out) + tuning_rows(out)
    key = re.sub(r"[^a-z0-9]+", "_", card.lower()).strip("_")
    with open(os.path.join(out, f"cuda_runner_{key}.json"), "w") as f:
        json.dump({"card": card, "rows": rows}, f, indent=2)
    print(f"\n{card}; ratio = specd's speed / the baseline's (higher is better for specd)")
    print(f'{"case":50} {"unit":13} {"specd":>9} {"baseline":>9} {"ratio":>6} {"target":>7}  baseline')
    for r in rows:
        target = "" if r["target"] is None else f'{r["target"]:g}'
        print(f'{r["case"]:50} {r["unit"]:13} {r["specd"]:9.3f} {r["baseline_value"]:9.3f} {r["ratio"]:6.2f} '
              f'{target:>7}  {r["baseline"]}')


if __name__ == "__main__":
    main()
