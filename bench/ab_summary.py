"""Summarizes an A/B of specd_bench_model_decode runs (bench/ab_decode.sh): for each case, batch
and step width, every variant's ms a step in round order and its median, and the median's ratio
to the first variant's (in the order below). Writes summary.json next
to the raw files.

usage: python3 bench/ab_summary.py DIR [VARIANT ...]
  DIR holds <case>_<variant>_r<round>.json; the variants in the order given (ab_decode.sh passes
  its command line's), else in name order.
"""
import collections
import json
import os
import re
import statistics
import sys

RUN = re.compile(r"(?P<case>[a-z0-9]+)_(?P<variant>.+)_r(?P<round>\d+)\.json")


def load_runs(directory):
    """{(case, batch, step_tokens): {variant: [ms a step by round]}}, the variants seen, and the
    card named by the runs."""
    table = collections.defaultdict(dict)
    variants, card = set(), None
    names = [n for n in os.listdir(directory) if RUN.fullmatch(n)]
    for name in sorted(names, key=lambda n: int(RUN.fullmatch(n)["round"])):
        m = RUN.fullmatch(name)
        variants.add(m["variant"])
        with open(os.path.join(directory, name)) as f:
            for row in json.load(f):
                card = card or row.get("card")
                key = (m["case"], row["batch"], row["step_tokens"])
                table[key].setdefault(m["variant"], []).append(row["ms_per_step_mean"])
    return table, variants, card


def main():
    directory = sys.argv[1]
    table, variants, card = load_runs(directory)
    order = sys.argv[2:] or sorted(variants)
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
