#!/usr/bin/python3
"""Where a replayed step's time goes, from a kernel trace (bench/kernel_trace.cc writes it).

  kernel_timeline.py TRACE.csv [--skip 8] [--json OUT.json]

The steps are the graph launches with the most common kernel count (a decode benchmark's
single-token steps). Within a step, kernel i's *end delta* is its end minus kernel i-1's end:
the time it adds to the chain of dependent kernels, whatever overlapped it. The deltas add up to
the step, so they say where it goes. *Lead* is how long before the previous kernel's end it
started (PDL lets a kernel start early; negative: it started after). The layers repeat a pattern
of kernels; the table averages each position of the pattern over the inner layers of every step,
and lists the kernels before and after the layers one by one.
"""
import argparse
import collections
import csv
import json
import statistics
import sys


def read_steps(path):
    """The trace's kernels grouped by launch (correlation id), each sorted by start."""
    launches = collections.defaultdict(list)
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            launches[int(row["correlation"])].append(
                (int(row["start_ns"]), int(row["end_ns"]), row["name"], int(row["grid"])))
    for kernels in launches.values():
        kernels.sort()
    return [launches[c] for c in sorted(launches, key=lambda c: launches[c][0][0])]


def decode_steps(launches, skip):
    """The graph launches of the most common size (more than one kernel), after `skip` of them."""
    sizes = collections.Counter(len(k) for k in launches if len(k) > 1)
    if not sizes:
        sys.exit("kernel_timeline: no launch with more than one kernel in the trace")
    size = sizes.most_common(1)[0][0]
    steps = [k for k in launches if len(k) == size]
    if len(steps) < skip + 2:  # two steps at least: one gap between them
        sys.exit(f"kernel_timeline: only {len(steps)} steps of {size} kernels, --skip is {skip}; two more needed")
    return steps[skip:]


def layer_period(names):
    """The shortest period p with which the middle half of the step's kernel names repeat."""
    lo, hi = len(names) // 4, 3 * len(names) // 4
    for p in range(2, len(names) // 3):
        if all(names[i] == names[i + p] for i in range(lo, hi - p)):
            return p
    sys.exit("kernel_timeline: the step's kernels have no repeating layer pattern")


def layer_bounds(names, period):
    """First and one-past-last index of the repeated layers: the longest run of a rotation of the
    pattern (the earliest such run where rotations tie)."""
    middle = len(names) // 2
    best = (0, 0)
    for rotation in range(period):
        pattern = names[middle + rotation:middle + rotation + period]
        i = 0
        while i < len(names):
            j = i
            while names[j:j + period] == pattern:
                j += period
            if j - i > best[1] - best[0] or (j - i == best[1] - best[0] and i < best[0]):
                best = (i, j)
            i = max(j, i + 1)
    return best


def deltas(step):
    """(name, grid, duration, lead, end delta) per kernel, in microseconds."""
    rows, previous_end = [], step[0][0]
    for start, end, name, grid in step:
        rows.append((name, grid, (end - start) / 1e3, (previous_end - start) / 1e3, (end - previous_end) / 1e3))
        previous_end = end
    return rows


def between_steps(launches, steps):
    """The kernels that ran between consecutive steps (outside their graphs), by name: mean
    duration in microseconds and how many ran per gap."""
    others = sorted(k for launch in launches if len(launch) != len(steps[0]) for k in launch)
    found = collections.defaultdict(list)
    for a, b in zip(steps, steps[1:]):
        for start, end, name, _ in others:
            if a[-1][1] <= start < b[0][0]:
                found[name].append((end - start) / 1e3)
    gaps = len(steps) - 1
    return [{"kernel": n, "duration_us": statistics.fmean(d), "per_gap": len(d) / gaps} for n, d in found.items()]


def summarize(steps, launches):
    names = [k[2] for k in steps[0]]
    period = layer_period(names)
    first, last = layer_bounds(names, period)
    layers = (last - first) // period
    per_step = [deltas(s) for s in steps]
    table = []
    for label, indices in ([("before", [i]) for i in range(first)] +
                           [("layer", [first + p + l * period for l in range(1, layers - 1)]) for p in range(period)] +
                           [("after", [i]) for i in range(last, len(names))]):
        values = [rows[i] for rows in per_step for i in indices]
        table.append({"where": label, "kernel": values[0][0], "grid": values[0][1],
                      "duration_us": statistics.fmean(v[2] for v in values),
                      "lead_us": statistics.fmean(v[3] for v in values),
                      "end_delta_us": statistics.fmean(v[4] for v in values)})
    spans = [(s[-1][1] - s[0][0]) / 1e3 for s in steps]
    gaps = [(b[0][0] - a[-1][1]) / 1e3 for a, b in zip(steps, steps[1:])]
    return {"steps": len(steps), "kernels_per_step": len(names), "layers": layers, "layer_kernels": period,
            "step_span_us": statistics.fmean(spans), "step_span_min_us": min(spans),
            "gap_between_steps_us": statistics.median(gaps),
            "layer_us": sum(r["end_delta_us"] for r in table if r["where"] == "layer"), "kernels": table,
            "between_steps": between_steps(launches, steps)}


def print_table(summary):
    print(f"{summary['steps']} steps of {summary['kernels_per_step']} kernels; {summary['layers']} layers of "
          f"{summary['layer_kernels']}; step {summary['step_span_us']:.1f} us (min {summary['step_span_min_us']:.1f}), "
          f"median gap to the next step {summary['gap_between_steps_us']:.1f} us; an inner layer "
          f"{summary['layer_us']:.2f} us")
    print(f"{'where':7} {'kernel':60} {'grid':>6} {'dur us':>8} {'lead us':>8} {'end delta':>9}")
    for r in summary["kernels"]:
        print(f"{r['where']:7} {r['kernel'][:60]:60} {r['grid']:6d} {r['duration_us']:8.2f} {r['lead_us']:8.2f} "
              f"{r['end_delta_us']:9.2f}")
    for r in summary["between_steps"]:
        print(f"{'between':7} {r['kernel'][:60]:60} {'':6} {r['duration_us']:8.2f}   ({r['per_gap']:.2f} a gap)")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("trace")
    parser.add_argument("--skip", type=int, default=8, help="steps to leave out first (graph capture, warm-up)")
    parser.add_argument("--json", help="also write the summary here")
    args = parser.parse_args()
    launches = read_steps(args.trace)
    summary = summarize(decode_steps(launches, args.skip), launches)
    print_table(summary)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(summary, f, indent=1)


if __name__ == "__main__":
    main()
