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
DECODE_TARGET_MS = {"llama-3.2-1b": 1.0, "llama-3.1-8b": 5.9}  # issue 8, with CUDA graphs
VERIFY_TARGET_RATIO = {5: 1.1}  # a verify step of k + 1 = 5 tokens against a single-token step


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


def flex_rows(out):
    """Each modifier against torch's compiled flex_attention (the `flex` part); the target is to be ahead."""
    if not os.path.exists(os.path.join(out, "flex_specd.json")):
        return []
    specd, torch = load(out, "flex_specd.json"), load(out, "flex_torch.json")
    rows = []
    for s in specd:
        key = (s["kind"], s["modifier"], s["batch"], s["context"])
        unit = "tb_per_s" if s["kind"] == "decode" else "tflop_per_s"
        for t in (t for t in torch if (t["kind"], t["modifier"], t["batch"], t["context"]) == key):
            rows.append({"case": f'flex {s["kind"]} {s["batch"]}x{s["context"]}, {s["modifier"]}', "unit": unit,
                         "specd": s[unit], "baseline": t["implementation"], "baseline_value": t[unit],
                         "ratio": s[unit] / t[unit], "target": t[unit], "meets_target": s[unit] >= t[unit],
                         "specd_ms": s["ms"], "baseline_ms": t["ms"]})
    return rows


def decode_run_files(out, stem):
    """The files of a decode run: its rounds `stem`_r1.json, `stem`_r2.json, ...
    (run_gpu_benchmarks.sh decode), else `stem`.json where there is one (older folders), else none."""
    rounds = sorted(n for n in os.listdir(out) if re.fullmatch(re.escape(stem) + r"_r\d+\.json", n))
    return rounds or [n for n in (stem + ".json",) if os.path.exists(os.path.join(out, n))]


def decode_row(out, stem):
    """The batch-1, single-token row of decode run `stem` (decode_run_files), of its median round
    by ms a token, with every round's ms a token in rounds_ms."""
    names = decode_run_files(out, stem)
    assert names, f"no decode run {stem} in {out}"
    runs = []
    for name in names:
        rows = load(out, name)
        assert len(rows) == 1 and rows[0]["batch"] == 1 and rows[0]["step_tokens"] == 1, name
        runs.append(rows[0])
    median = sorted(runs, key=lambda r: r["ms_per_step_mean"])[(len(runs) - 1) // 2]
    return dict(median, rounds_ms=[r["ms_per_step_mean"] for r in runs])


def decode_mode(row):
    """How a decode run ran: CUDA graphs or eager, steps overlapped or not (runs before
    overlapped steps existed have no such field)."""
    graphs = "CUDA graphs" if row["cuda_graphs"] else "eager"
    return graphs + (", overlapped steps" if row.get("overlapped") else ", steps not overlapped")


def decode_rows(out):
    rows = []
    for shape in ("llama-3.2-1b", "llama-3.1-8b"):
        s = decode_row(out, f"decode_specd_{shape}")
        target = DECODE_TARGET_MS.get(shape)
        for t in load(out, f"decode_torch_{shape}.json"):
            rows.append({"case": f"decode batch 1, {shape}, {decode_mode(s)}", "unit": "ms_per_token",
                         "specd": s["ms_per_step_mean"], "specd_rounds": s["rounds_ms"], "baseline": t["implementation"],
                         "baseline_value": t["ms_per_token_mean"], "ratio": t["ms_per_token_mean"] / s["ms_per_step_mean"],
                         "fraction_of_weight_read_limit": s["fraction_of_limit"],
                         "copy_bandwidth_tb_per_s": s["copy_bandwidth_tb_per_s"], "target": target,
                         "meets_target": None if target is None else s["ms_per_step_mean"] <= target})
    return rows


def baseline_rows(out):
    """specd against itself: steps not overlapped, without CUDA graphs, without the fused decode
    layers, and with cuBLASLt's heuristic for small GEMMs."""
    rows = []
    for shape in ("llama-3.2-1b", "llama-3.1-8b"):
        graphs = decode_row(out, f"decode_specd_{shape}")
        for suffix, baseline in (("sync", "specd, each step launched after the one before was collected"),
                                 ("eager", "specd without CUDA graphs"),
                                 ("unfused", "specd, norms / residual adds / SiLU as separate kernels"),
                                 ("untuned", "specd, cuBLASLt heuristic for small GEMMs")):
            if not decode_run_files(out, f"decode_specd_{shape}_{suffix}"):
                continue
            other = decode_row(out, f"decode_specd_{shape}_{suffix}")
            rows.append({"case": f"decode batch 1, {shape}, {decode_mode(graphs)}", "unit": "ms_per_token",
                         "specd": graphs["ms_per_step_mean"], "baseline": baseline,
                         "baseline_value": other["ms_per_step_mean"],
                         "ratio": other["ms_per_step_mean"] / graphs["ms_per_step_mean"],
                         "fraction_of_weight_read_limit": graphs["fraction_of_limit"],
                         "baseline_fraction_of_weight_read_limit": other["fraction_of_limit"],
                         "target": None, "meets_target": None})
    return rows


def host_gap_rows(out):
    rows = []
    for shape in ("llama-3.2-1b", "llama-3.1-8b"):
        for suffix in ("", "_sync", "_eager"):
            if not decode_run_files(out, f"decode_specd_{shape}{suffix}"):
                continue
            r = decode_row(out, f"decode_specd_{shape}{suffix}")
            rows.append({"case": f"host gap before a step, batch 1, {shape}, {decode_mode(r)}", "unit": "fraction",
                         "specd": r["host_gap_fraction"], "baseline": "GPU time of the step (ms)",
                         "baseline_value": r["step_gpu_ms_mean"], "ratio": r["host_gap_ms_mean"],
                         "target": None, "meets_target": None})
    return rows


def throughput_rows(out):
    rows = []
    for r in load(out, "decode_specd_throughput_llama-3.1-8b.json"):
        rows.append({"case": f'decode batch {r["batch"]}, llama-3.1-8b, {r["prompt_tokens"]}-token contexts',
                     "unit": "tokens_per_s", "specd": r["computed_tokens_per_s"],
                     "baseline": "weights + KV read once at copy bandwidth (ms)", "baseline_value": r["bandwidth_limit_ms"],
                     "ratio": r["fraction_of_limit"], "ms_per_step": r["ms_per_step_mean"],
                     "target": None, "meets_target": None})
    return rows


def verify_rows(out):
    """Verify steps against the single-token step of the same run: every step at the prompt's
    context (the comparison the target is about), and with contexts growing by the width each step
    (wider steps then run at longer contexts than the single-token one)."""
    rows = []
    for name, contexts in (("decode_specd_verify_llama-3.1-8b.json", "at a 128-token context"),
                           ("decode_specd_verify_growing_llama-3.1-8b.json", "contexts growing")):
        if os.path.exists(os.path.join(out, name)):
            rows += verify_rows_of(load(out, name), contexts)
    return rows


def verify_rows_of(runs, contexts):
    single = next(r for r in runs if r["step_tokens"] == 1)
    rows = []
    for r in runs:
        ratio = r["ms_per_step_mean"] / single["ms_per_step_mean"]
        target = VERIFY_TARGET_RATIO.get(r["step_tokens"])
        rows.append({"case": f'verify step of {r["step_tokens"]} tokens, batch 1, llama-3.1-8b, {contexts}',
                     "unit": "ms_per_step",
                     "specd": r["ms_per_step_mean"], "baseline": "single-token step",
                     "baseline_value": single["ms_per_step_mean"], "ratio": ratio, "target": target,
                     "meets_target": None if target is None else ratio <= target})
    return rows


def spec_rows(out):
    runs = load(out, "spec_decode_cuda.json")["rows"]
    rows = []
    for batch in (1, 8):
        plain = next(r for r in runs if r["batch"] == batch and r["method"] == "none")
        for r in runs:
            if r["batch"] != batch or r["method"] == "none" or r["max_batch_size"] != 32:
                continue
            rows.append({"case": f'speculative {r["method"]} k={r["k"]}, batch {batch}, bundled pair', "unit": "tokens_per_s",
                         "specd": r["tokens_per_second"], "baseline": "plain decoding",
                         "baseline_value": plain["tokens_per_second"],
                         "ratio": r["tokens_per_second"] / plain["tokens_per_second"],
                         "mean_accepted_length": r["mean_accepted_length"], "target": None, "meets_target": None})
    return rows


def main():
    out = sys.argv[1]
    card = load(out, "attention_specd.json")[0]["card"]
    rows = (attention_rows(out) + flex_rows(out) + decode_rows(out) + baseline_rows(out) + host_gap_rows(out) +
            throughput_rows(out) + verify_rows(out) + spec_rows(out))
    key = re.sub(r"[^a-z0-9]+", "_", card.lower()).strip("_")
    with open(os.path.join(out, f"cuda_runner_{key}.json"), "w") as f:
        json.dump({"card": card, "rows": rows}, f, indent=2)
    print(f"\n{card}; ratio = specd's speed / the baseline's (higher is better for specd); for throughput rows\n"
          "the fraction of the bandwidth limit, for host-gap rows the gap in ms, for verify rows the cost ratio")
    print(f'{"case":50} {"unit":13} {"specd":>9} {"baseline":>9} {"ratio":>6} {"target":>7}  baseline')
    for r in rows:
        target = "" if r["target"] is None else f'{r["target"]:g}'
        print(f'{r["case"]:50} {r["unit"]:13} {r["specd"]:9.3f} {r["baseline_value"]:9.3f} {r["ratio"]:6.2f} '
              f'{target:>7}  {r["baseline"]}')


if __name__ == "__main__":
    main()
