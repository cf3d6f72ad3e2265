"""Summarizes an A/B of specd_bench_model_decode runs (bench/ab_decode.sh): for each case, batch
and step width, every variant's ms a step in round order and its median, and the median's ratio
to the first variant's (the first named on ab_decode.sh's command line). Writes summary.json next
to the raw files.

usage: python3 bench/ab_summary.py DIR      (DIR holds <case>_<variant>_r<round>.json)
"""
import collections
import json
import os
import re
import statistics
import sys

RUN = re.compile(r"(?P<case>[a-z0-9]+)_(?P<variant>.+)_r(?P<round>\d+)\.json")


def load_runs(directory):
    """{(case, batch, step_tokens): {variant: [ms a step by round]}}, variants in first-seen order
    of round 1 (the command line's order), and the card named by the runs."""
    table = collections.defaultdict(dict)
    order, card = [], None
    names = [n for n in os.listdir(directory) if RUN.fullmatch(n)]
    for name in sorted(names, key=lambda n: (int(RUN.fullmatch(n)["round"]), os.path.getmtime(os.path.join(directory, n)))):
        m = RUN.fullmatch(name)
        if m["variant"] not in order:
            order.append(m["variant"])
        with open(os.path.join(directory, name)) as f:
            for row in json.load(f):
                card = card or row.get("card")
                key = (m["case"], row["batch"], row["step_tokens"])
                table[key].setdefault(m["variant"], []).append(row["ms_per_step_mean"])
    return table, order, card


def main():
    directory = sys.argv[1]
    table, order, card = load_runs(directory)
    summary = []
    print(f"{card}: ms a step, rounds in order; median; median / {order[0] if order else '-'}'s")
    for (case, batch, width), by_variant in sorted(table.items()):
        base = statistics.median(by_variant[order[0]]) if order and order[0] in by_variant else None
        for variant in (v for v in order if v in by_variant):
            runs = by_variant[variant]
            median = statistics.median(runs)
            ratio = median / base if base else None
            summary.append({"case": case, "batch": batch, "step_tokens": width, "variant": variant,
                            "ms_per_step": runs, "median": median, "ratio_to_first": ratio})
            rounds = " ".join(f"{ms:.4f}" for ms in runs)
            print(f"{case:8} b{batch:<3} t{width:<2} {variant:12} {rounds:40} {median:.4f}  "
                  f"{'' if ratio is None else f'{ratio:.4f}'}")
    with open(os.path.join(directory, "summary.json"), "w") as f:
        json.dump({"card": card, "variants": order, "rows": summary}, f, indent=2)


if __name__ == "__main__":
    main()
