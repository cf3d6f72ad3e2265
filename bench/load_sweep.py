"""Helpers of bench/run_gpu_load.sh (standard library only: the GPU machine's python3 has no
grpc, maybe no matplotlib).

    python3 bench/load_sweep.py preset --workload W --saturation REPORT --fractions 0.3 0.6 0.9 1.2 \\
        --duration-s 30 --out PRESET
        a copy of preset W whose sweep is Poisson rates at those fractions of the request
        throughput of REPORT's closed-loop run, each run lasting --duration-s; prints the rates

    python3 bench/load_sweep.py summary --dir OUT --card CARD
        reads OUT/load_{off,on}_{saturation,rates}.json (specd-bench reports; a mode may be
        missing), prints a markdown table and writes OUT/gpu_load_CARD.json with its rows
"""

import argparse
import json
import os
import sys

MODES = ("off", "on")
PARTS = ("saturation", "rates")
RATE_DIGITS = 1  # rates rounded to 0.1 requests/s


def saturation_rates(report, fractions):
    """Poisson rates at `fractions` of the closed-loop run's finished requests per second."""
    run = report["runs"][0]
    if run["arrival"]["pattern"] != "concurrency":
        sys.exit(f"load_sweep.py: the saturation report's run is {run['arrival']['pattern']}, not closed-loop")
    capacity = run["throughput"]["requests_per_s"]
    if capacity <= 0:
        sys.exit("load_sweep.py: the saturation run finished no requests")
    return [max(round(capacity * f, RATE_DIGITS), 10 ** -RATE_DIGITS) for f in fractions]


def write_preset(args):
    with open(args.workload) as f:
        preset = json.load(f)
    with open(args.saturation) as f:
        rates = saturation_rates(json.load(f), args.fractions)
    preset.pop("requests", None)
    preset["duration_s"] = args.duration_s
    preset["arrival"] = {"pattern": "poisson", "rate": rates[0]}
    preset["sweep"] = {"rates": rates}
    with open(args.out, "w") as f:
        json.dump(preset, f, indent=1)
    print(" ".join(f"{r:g}" for r in rates))


def arrivals_text(arrival):
    if arrival["pattern"] == "poisson":
        return f"{arrival['rate']:g}/s"
    if arrival["pattern"] == "concurrency":
        return f"{arrival['clients']} clients"
    return f"burst {arrival['size']}/{arrival['interval_s']:g}s"


def row_of(mode, part, report, run):
    latency = run["latency_ms"]
    return {"speculation": mode, "kind": part, "arrivals": arrivals_text(run["arrival"]),
            "offered_rate": run["arrival"].get("rate"),
            "requests_per_s": run["throughput"]["requests_per_s"],
            "output_tokens_per_s": run["throughput"]["output_tokens_per_s"],
            "ttft_ms": {p: latency["ttft"][p] for p in ("p50", "p90", "p99")},
            "tpot_ms": {p: latency["tpot"][p] for p in ("p50", "p99")},
            "itl_ms": {p: latency["itl"][p] for p in ("p50", "p99")},
            "e2e_ms": {p: latency["e2e"][p] for p in ("p50", "p99")},
            "acceptance_rate": run["speculation"]["acceptance_rate"],
            "sent": run["requests"]["sent"], "errors": run["requests"]["errors"],
            "errors_by_code": run["requests"]["errors_by_code"], "duration_s": run["duration_s"],
            "late_requests": run["schedule"]["late_requests"],
            "spec_config": (report["server"].get("server_config") or {}).get("spec_config", "")}


def read_reports(out_dir):
    """{(mode, part): report} for the files present."""
    reports = {}
    for mode in MODES:
        for part in PARTS:
            path = os.path.join(out_dir, f"load_{mode}_{part}.json")
            if os.path.exists(path):
                with open(path) as f:
                    reports[(mode, part)] = json.load(f)
    if not reports:
        sys.exit(f"load_sweep.py: no load_*_{{saturation,rates}}.json in {out_dir}")
    return reports


def number(value, digits):
    return "-" if value is None else f"{value:.{digits}f}"


def markdown_table(rows):
    header = ("| arrivals | spec | req/s | out tok/s | TTFT p50 | p90 | p99 | TPOT p50 | p99 | ITL p50 | p99 | "
              "E2E p50 | p99 | acceptance | errors |\n|" + "---|" * 15 + "\n")
    lines = []
    for r in rows:
        lines.append(f"| {r['arrivals']} | {r['speculation']} | {r['requests_per_s']:.2f} | "
                     f"{r['output_tokens_per_s']:.0f} | "
                     + " | ".join(number(r["ttft_ms"][p], 1) for p in ("p50", "p90", "p99")) + " | "
                     + " | ".join(number(r[k][p], 2) for k in ("tpot_ms", "itl_ms") for p in ("p50", "p99")) + " | "
                     + " | ".join(number(r["e2e_ms"][p], 0) for p in ("p50", "p99")) + " | "
                     f"{number(r['acceptance_rate'], 3)} | {r['errors']} of {r['sent']} |")
    return header + "\n".join(lines) + "\n"


def summarize(args):
    reports = read_reports(args.dir)
    rows = [row_of(mode, part, report, run) for (mode, part), report in reports.items() for run in report["runs"]]
    first = next(iter(reports.values()))
    server = first["server"]
    summary = {"benchmark": "gpu_load", "card": args.card, "machine": first["machine"],
               "started_at": first["started_at"], "model": server.get("model_path"),
               "workload": reports.get(("off", "rates"), first)["workload"],
               "servers": {mode: reports[(mode, part)]["server"] for mode, part in reports if part == "rates"},
               "rows": rows}
    path = os.path.join(args.dir, f"gpu_load_{args.card}.json")
    with open(path, "w") as f:
        json.dump(summary, f, indent=1)
    print(f"\nspecd serve + specd-bench load, {args.card}, model {summary['model']}, {summary['started_at']}; "
          "latencies in ms, acceptance = accepted / proposed draft tokens\n")
    print(markdown_table(rows))
    print(f"wrote {path}")


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    preset = commands.add_parser("preset")
    preset.add_argument("--workload", required=True)
    preset.add_argument("--saturation", required=True)
    preset.add_argument("--fractions", nargs="+", type=float, required=True)
    preset.add_argument("--duration-s", type=float, required=True)
    preset.add_argument("--out", required=True)
    summary = commands.add_parser("summary")
    summary.add_argument("--dir", required=True)
    summary.add_argument("--card", required=True)
    return parser.parse_args()


def main():
    args = parse_args()
    if args.command == "preset":
        write_preset(args)
    else:
        summarize(args)


if __name__ == "__main__":
    main()
