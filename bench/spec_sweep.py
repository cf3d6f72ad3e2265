"""Speculative-decoding sweep: serves a model once per speculative-decoding preset and draft
length, runs one workload against each with specd-bench, and summarizes the latency /
throughput trade-off as a table, JSON and a plot.

    /usr/bin/python3 bench/spec_sweep.py --workload configs/workloads/code_completion_cpu.json \\
        [--spec-configs spec_configs/*.json] [--draft-lengths 1 2 4 6] \\
        [--server-config configs/serve_cpu.json] [--bin-dir build/bin] [--out-dir bench/results] \\
        [--name spec_sweep] [-- extra specd-bench flags, e.g. --requests 32]

Draft length k means a copy of the preset with chunk_size = max_spec_tokens = k (and
fallback_chunk_size capped at k), so the engine drafts k tokens a step except after a run of
rejections; a preset with method "none" is one point, k = 0. Runs from the repository root
(presets name their models relative to it). Writes OUT_DIR/NAME_<machine>.{json,md,png}, the
machine being the CPU model specd-bench reports (the server runs on the same machine).
"""

import argparse
import glob
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt  # noqa: E402

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
SERVER_START_TIMEOUT_S = 120


def sweep_points(spec_paths, draft_lengths):
    """(preset name, spec config dict, k) for every point of the sweep."""
    points = []
    for path in spec_paths:
        with open(path) as f:
            spec = json.load(f)
        name = os.path.splitext(os.path.basename(path))[0]
        if spec["method"] == "none":
            points.append((name, spec, 0))
            continue
        for k in draft_lengths:
            fallback = min(spec.get("fallback_chunk_size", 2), k)
            points.append((name, {**spec, "chunk_size": k, "max_spec_tokens": k, "fallback_chunk_size": fallback}, k))
    return points


class Server:
    """`specd serve` with one spec config on ephemeral ports, stopped with SIGTERM."""

    def __init__(self, bin_dir, server_config, spec_path, work_dir):
        self.port_file = os.path.join(work_dir, "ports.json")
        self.log_path = os.path.join(work_dir, "specd.log")
        command = [os.path.join(bin_dir, "specd"), "serve", "--config", server_config, "--spec-config", spec_path,
                   "--listen", "127.0.0.1:0", "--metrics-port", "0", "--port-file", self.port_file]
        with open(self.log_path, "w") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)

    def wait_ready(self):
        deadline = time.monotonic() + SERVER_START_TIMEOUT_S
        while not os.path.exists(self.port_file):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"specd did not start:\n{self.log_tail()}")
            time.sleep(0.05)
        with open(self.port_file) as f:
            return f"127.0.0.1:{json.load(f)['grpc_port']}"

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=60)

    def log_tail(self, lines=20):
        with open(self.log_path) as f:
            return "".join(f.readlines()[-lines:])


def run_point(args, spec, work_dir):
    """Serves with `spec`, runs the workload; the specd-bench report."""
    spec_path = os.path.join(work_dir, "spec.json")
    with open(spec_path, "w") as f:
        json.dump(spec, f)
    server = Server(args.bin_dir, args.server_config, spec_path, work_dir)
    try:
        target = server.wait_ready()
        report_path = os.path.join(work_dir, "report.json")
        bench = [os.path.join(args.bin_dir, "specd-bench"), "load", "--workload", args.workload, "--target", target,
                 "--json-out", report_path, *args.bench_flags]
        result = subprocess.run(bench, capture_output=True, text=True, cwd=ROOT)
        if result.returncode != 0:
            raise RuntimeError(f"specd-bench failed ({result.returncode}):\n{result.stderr}")
        with open(report_path) as f:
            return json.load(f)
    finally:
        server.stop()


def row_of(name, spec, k, report):
    run = report["runs"][0]
    latency = run["latency_ms"]
    return {"spec_config": name, "method": spec["method"], "draft_length": k,
            "acceptance_rate": run["speculation"]["acceptance_rate"],
            "output_tokens_per_s": run["throughput"]["output_tokens_per_s"],
            "requests_per_s": run["throughput"]["requests_per_s"],
            "ttft_p50_ms": latency["ttft"]["p50"], "tpot_p50_ms": latency["tpot"]["p50"],
            "tpot_p99_ms": latency["tpot"]["p99"], "e2e_p50_ms": latency["e2e"]["p50"],
            "e2e_p99_ms": latency["e2e"]["p99"], "errors": run["requests"]["errors"],
            # Others' work on the machine skews CPU timings: the 1-minute load average after the point.
            "load_average_1m": os.getloadavg()[0]}


def markdown_table(rows):
    header = ("| spec config | method | k | acceptance | out tok/s | req/s | TTFT p50 ms | TPOT p50 ms | "
              "TPOT p99 ms | E2E p50 ms | E2E p99 ms | errors | load 1m |\n|" + "---|" * 13 + "\n")
    lines = []
    for r in rows:
        acceptance = "-" if r["acceptance_rate"] is None else f"{r['acceptance_rate']:.3f}"
        lines.append(f"| {r['spec_config']} | {r['method']} | {r['draft_length']} | {acceptance} | "
                     f"{r['output_tokens_per_s']:.1f} | {r['requests_per_s']:.3f} | {r['ttft_p50_ms']:.1f} | "
                     f"{r['tpot_p50_ms']:.2f} | {r['tpot_p99_ms']:.2f} | {r['e2e_p50_ms']:.1f} | "
                     f"{r['e2e_p99_ms']:.1f} | {r['errors']} | {r['load_average_1m']:.2f} |")
    return header + "\n".join(lines) + "\n"


def plot(rows, title, out):
    figure, axes = plt.subplots(2, 2, figsize=(12, 9))
    (acceptance, throughput), (tpot, trade_off) = axes
    series = {}
    for r in rows:
        series.setdefault(r["spec_config"], []).append(r)
    for name, points in series.items():
        if points[0]["draft_length"] == 0:  # speculation off: the reference line
            for axis, key in ((throughput, "output_tokens_per_s"), (tpot, "tpot_p50_ms")):
                axis.axhline(points[0][key], color="gray", linestyle="--", label=f"{name} (off)")
            trade_off.plot(points[0]["output_tokens_per_s"], points[0]["tpot_p50_ms"], "kx", label=f"{name} (off)")
            continue
        ks = [p["draft_length"] for p in points]
        acceptance.plot(ks, [p["acceptance_rate"] or 0 for p in points], "o-", label=name)
        throughput.plot(ks, [p["output_tokens_per_s"] for p in points], "o-", label=name)
        tpot.plot(ks, [p["tpot_p50_ms"] for p in points], "o-", label=name)
        line, = trade_off.plot([p["output_tokens_per_s"] for p in points], [p["tpot_p50_ms"] for p in points], "o-",
                               label=name)
        for p in points:
            trade_off.annotate(f"k={p['draft_length']}", (p["output_tokens_per_s"], p["tpot_p50_ms"]),
                               textcoords="offset points", xytext=(4, 4), fontsize="small", color=line.get_color())
    labels = [(acceptance, "draft length k", "acceptance rate"), (throughput, "draft length k", "output tokens/s"),
              (tpot, "draft length k", "TPOT p50 (ms)"), (trade_off, "output tokens/s", "TPOT p50 (ms)")]
    for axis, xlabel, ylabel in labels:
        axis.set_xlabel(xlabel)
        axis.set_ylabel(ylabel)
        axis.grid(alpha=0.3)
        axis.legend(fontsize="small")
    trade_off.set_title("trade-off: right and down is better", fontsize="medium")
    figure.suptitle(title)
    figure.tight_layout()
    figure.savefig(out, dpi=110)
    plt.close(figure)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workload", required=True)
    parser.add_argument("--spec-configs", nargs="+", default=sorted(glob.glob(os.path.join(ROOT, "spec_configs", "*.json"))))
    parser.add_argument("--draft-lengths", nargs="+", type=int, default=[1, 2, 4, 6])
    parser.add_argument("--server-config", default="configs/serve_cpu.json")
    parser.add_argument("--bin-dir", default=os.path.join(ROOT, "build", "bin"))
    parser.add_argument("--out-dir", default=os.path.join(ROOT, "bench", "results"))
    parser.add_argument("--name", default="spec_sweep")
    parser.add_argument("bench_flags", nargs="*", help="after --: more specd-bench load flags")
    args = parser.parse_args()
    if any(k < 1 or k > 16 for k in args.draft_lengths):
        parser.error("draft lengths must be in [1, 16]")
    return args


def main():
    args = parse_args()
    rows, reports = [], []
    with tempfile.TemporaryDirectory(prefix="spec_sweep_") as work_dir:
        for i, (name, spec, k) in enumerate(sweep_points(args.spec_configs, args.draft_lengths)):
            print(f"{name} k={k} ...", file=sys.stderr, flush=True)
            point_dir = os.path.join(work_dir, str(i))  # a fresh port file per server
            os.makedirs(point_dir)
            reports.append(run_point(args, spec, point_dir))
            rows.append(row_of(name, spec, k, reports[-1]))
    machine = reports[0]["machine"]
    stem = os.path.join(args.out_dir, f"{args.name}_{re.sub(r'[^a-z0-9]+', '_', machine.lower()).strip('_')}")
    summary = {"benchmark": "spec_sweep", "machine": machine, "started_at": reports[0]["started_at"],
               "workload": reports[0]["workload"], "server_config": args.server_config,
               "model": reports[0]["server"]["model_path"], "bench_flags": args.bench_flags, "rows": rows}
    with open(stem + ".json", "w") as f:
        json.dump(summary, f, indent=1)
    table = markdown_table(rows)
    with open(stem + ".md", "w") as f:
        f.write(f"Speculative-decoding sweep, workload {summary['workload']['name']}, model {summary['model']}, "
                f"{machine}, {summary['started_at']}\n\n{table}")
    plot(rows, f"{summary['workload']['name']} on {summary['model']} ({machine})", stem + ".png")
    print(table)
    print(f"wrote {stem}.json, .md and .png")


if __name__ == "__main__":
    main()
