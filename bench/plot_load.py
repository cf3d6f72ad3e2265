"""Plots specd-bench load reports (the JSON of --json-out) as PNG files.

    /usr/bin/python3 bench/plot_load.py REPORT.json [REPORT.json ...] --out PREFIX

writes
  PREFIX_latency.png     the distribution (CDF over requests) of TTFT, TPOT and E2E latency,
                         one line per run of every report
  PREFIX_throughput.png  output token throughput, goodput and TTFT / TPOT percentiles against
                         the offered request rate (poisson runs) or the number of clients
                         (concurrency runs), one line per report: a saturation sweep

Several reports (say, two servers on one workload) share the axes. Uses Debian's matplotlib
(python3-matplotlib), so run it with /usr/bin/python3.
"""

import argparse
import json
import os

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker  # noqa: E402


def describe(arrival):
    """The run's arrivals as specd-bench's table writes them."""
    if arrival["pattern"] == "poisson":
        return f"{arrival['rate']:g} req/s"
    if arrival["pattern"] == "burst":
        return f"burst {arrival['size']} every {arrival['interval_s']:g} s"
    return f"{arrival['clients']} clients"


def load_reports(paths):
    """(label, report) pairs; the label is the workload's name, with the file when names repeat."""
    reports = []
    for path in paths:
        with open(path) as f:
            reports.append(json.load(f))
    names = [r["workload"]["name"] for r in reports]
    return [(name if names.count(name) == 1 else f"{name} ({os.path.basename(path)})", report)
            for name, path, report in zip(names, paths, reports)]


def plot_latency(reports, out):
    metrics = [("ttft_ms", "time to first token (ms)"), ("tpot_ms", "time per output token (ms)"),
               ("e2e_ms", "end-to-end latency (ms)")]
    figure, axes = plt.subplots(1, len(metrics), figsize=(15, 4.5))
    for label, report in reports:
        for run in report["runs"]:
            finished = [r for r in run["per_request"] if r["outcome"] == "OK"]
            for axis, (key, _) in zip(axes, metrics):
                values = sorted(r[key] for r in finished if r[key] is not None)
                if values:
                    fractions = [(i + 1) / len(values) for i in range(len(values))]
                    axis.step(values, fractions, where="post", label=f"{label}, {describe(run['arrival'])}")
    for axis, (_, title) in zip(axes, metrics):
        axis.set_xlabel(title)
        axis.set_ylabel("fraction of requests")
        axis.set_ylim(0, 1.02)
        axis.grid(alpha=0.3)
    axes[-1].legend(fontsize="small", loc="lower right")
    figure.suptitle("Latency distribution over finished requests")
    figure.tight_layout()
    figure.savefig(out, dpi=110)
    plt.close(figure)


def sweep_x(run):
    arrival = run["arrival"]
    return arrival["rate"] if arrival["pattern"] == "poisson" else arrival.get("clients", 0)


def plot_throughput(reports, out):
    figure, (tokens, latency) = plt.subplots(1, 2, figsize=(13, 4.8))
    goodput_axis = None
    xlabel = "offered request rate (req/s)"
    for label, report in reports:
        runs = sorted(report["runs"], key=sweep_x)
        if runs[0]["arrival"]["pattern"] == "concurrency":
            xlabel = "concurrent clients"
        x = [sweep_x(run) for run in runs]
        tokens.plot(x, [run["throughput"]["output_tokens_per_s"] for run in runs], "o-", label=f"{label}: output tok/s")
        if all(run["goodput"] for run in runs):
            goodput_axis = goodput_axis or tokens.twinx()
            goodput_axis.plot(x, [run["goodput"]["requests_per_s"] for run in runs], "s--", color="tab:green",
                              label=f"{label}: goodput")
        for metric, style in (("ttft", "o-"), ("tpot", "s-")):
            for percentile in ("p50", "p99"):
                values = [run["latency_ms"][metric][percentile] for run in runs]
                latency.plot(x, values, style if percentile == "p50" else style + "-",
                             label=f"{label}: {metric.upper()} {percentile}")
    tokens.set_xlabel(xlabel)
    tokens.set_ylabel("output tokens per second")
    lines, labels = tokens.get_legend_handles_labels()
    if goodput_axis:
        goodput_axis.set_ylabel("goodput (requests/s meeting every SLO)")
        more_lines, more_labels = goodput_axis.get_legend_handles_labels()
        lines, labels = lines + more_lines, labels + more_labels
    tokens.legend(lines, labels, fontsize="small", loc="best")
    xs = [sweep_x(run) for _, report in reports for run in report["runs"]]
    if min(xs) > 0 and max(xs) / min(xs) >= 8:  # a doubling sweep reads best on a log axis
        for axis in (tokens, latency):
            axis.set_xscale("log", base=2)
            axis.xaxis.set_major_formatter(matplotlib.ticker.ScalarFormatter())
    latency.set_xlabel(xlabel)
    latency.set_ylabel("latency (ms)")
    latency.set_yscale("log")
    latency.legend(fontsize="small")
    for axis in (tokens, latency):
        axis.grid(alpha=0.3)
    figure.suptitle("Throughput and latency against load")
    figure.tight_layout()
    figure.savefig(out, dpi=110)
    plt.close(figure)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("reports", nargs="+", help="specd-bench --json-out files")
    parser.add_argument("--out", required=True, help="prefix of the PNG files")
    args = parser.parse_args()
    reports = load_reports(args.reports)
    plot_latency(reports, f"{args.out}_latency.png")
    plot_throughput(reports, f"{args.out}_throughput.png")
    print(f"wrote {args.out}_latency.png and {args.out}_throughput.png")


if __name__ == "__main__":
    main()
