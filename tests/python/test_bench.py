"""(h) specd-bench against a live server: a short load's report is consistent with itself and
with the server's /metrics; a seed repeats its requests; closed-loop clients; failed requests
are counted by status code; prompts from a text file have the planned lengths; plot_load.py
draws a report; bad presets and flags exit 2 naming the problem, a workload too long for the
model exits 1."""

import json
import os
import re
import subprocess
import unittest
import urllib.request

import e2e_env
from server_process import ServerProcess

# Twelve short requests on the tiny model: a second or two on two cores.
SMALL_WORKLOAD = {
    "name": "ci_small",
    "seed": 3,
    "requests": 12,
    "arrival": {"pattern": "poisson", "rate": 40.0},
    "prompt": {"source": "random", "tokens": {"distribution": "uniform", "min": 4, "max": 24}},
    "output": {"tokens": {"distribution": "uniform", "min": 2, "max": 12}, "ignore_eos": True},
    "sampling": {"temperature": 0.0},
    "slo": {"e2e_ms": 60000},
}


def scrape(port):
    """The server's unlabelled samples and label-summed families, name -> value."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        text = response.read().decode()
    values = {}
    for line in text.splitlines():
        match = re.match(r"^([a-z_]+)(\{[^}]*\})? (\S+)$", line)
        if match:
            values[match[1]] = values.get(match[1], 0.0) + float(match[3])
    return values


class BenchTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = ServerProcess().start()
        cls.dir = os.path.join(e2e_env.scratch_dir(), "bench")
        os.makedirs(cls.dir, exist_ok=True)

    @classmethod
    def tearDownClass(cls):
        cls.server.stop_cleanly()

    def preset(self, name, **changes):
        path = os.path.join(self.dir, f"{name}.json")
        with open(path, "w") as f:
            json.dump({**SMALL_WORKLOAD, **changes}, f)
        return path

    def bench(self, *args, subcommand=("load",)):
        command = [e2e_env.binary("specd-bench"), *subcommand, "--target", self.server.address, *args]
        return subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=e2e_env.SOURCE_DIR)

    def run_report(self, preset, *args, **kwargs):
        out = os.path.join(self.dir, f"report_{len(os.listdir(self.dir))}.json")
        result = self.bench("--workload", preset, "--json-out", out, *args, **kwargs)
        self.assertEqual(result.returncode, 0, result.stderr)
        with open(out) as f:
            return json.load(f), result.stdout

    def assert_ordered(self, stats):
        if stats["count"] == 0:
            return
        self.assertLessEqual(stats["p50"], stats["p90"])
        self.assertLessEqual(stats["p90"], stats["p99"])
        self.assertLessEqual(stats["p99"], stats["max"])
        self.assertLessEqual(stats["mean"], stats["max"])

    def test_report_matches_itself_and_the_server_metrics(self):
        before = scrape(self.server.metrics_port)
        report, table = self.run_report(self.preset("small"))
        after = scrape(self.server.metrics_port)
        run = report["runs"][0]
        requests, per_request = run["requests"], run["per_request"]
        self.assertEqual(requests["sent"], 12)
        self.assertEqual(len(per_request), 12)
        self.assertEqual(requests["sent"], requests["finished"] + requests["errors"])
        self.assertEqual(requests["errors"], 0, requests["errors_by_code"])
        output = run["tokens"]["output"]
        self.assertEqual(output, sum(r["output_tokens"] for r in per_request))
        self.assertEqual(output, after["specd_generation_tokens_total"] - before["specd_generation_tokens_total"])
        self.assertEqual(run["tokens"]["prompt"], after["specd_prompt_tokens_total"] - before["specd_prompt_tokens_total"])
        self.assertEqual(requests["finished"],
                         after["specd_requests_finished_total"] - before.get("specd_requests_finished_total", 0))
        self.assertEqual(run["tokens"]["usage_mismatches"], 0)
        for r in per_request:  # ignore_eos: every request runs to its planned length
            self.assertEqual(r["output_tokens"], r["max_tokens"])
            self.assertEqual(r["prompt_tokens"], r["requested_prompt_tokens"])
        duration = run["duration_s"]
        self.assertGreaterEqual(duration, max(r["sent_s"] + r["e2e_ms"] / 1000 for r in per_request) - 1e-9)
        self.assertAlmostEqual(run["throughput"]["output_tokens_per_s"], output / duration, places=9)
        self.assertAlmostEqual(run["throughput"]["requests_per_s"], 12 / duration, places=9)
        for name in ("ttft", "tpot", "itl", "e2e"):
            self.assert_ordered(run["latency_ms"][name])
        self.assertEqual(run["latency_ms"]["e2e"]["count"], 12)
        self.assertLessEqual(run["latency_ms"]["ttft"]["max"], run["latency_ms"]["e2e"]["max"])
        self.assertEqual(run["goodput"]["requests"], 12)  # a 60 s objective
        self.assertEqual([r["index"] for r in per_request], list(range(12)))
        self.assertIn("12 / 12 / 0", table)

    def test_a_seed_repeats_its_requests_and_schedule(self):
        preset = self.preset("seeded")
        first, _ = self.run_report(preset)
        second, _ = self.run_report(preset, subcommand=())  # `specd-bench --workload ...` is load
        other, _ = self.run_report(preset, "--seed", "4")
        plan = lambda report: [(r["scheduled_s"], r["requested_prompt_tokens"], r["max_tokens"])
                               for r in report["runs"][0]["per_request"]]
        self.assertEqual(plan(first), plan(second))
        self.assertNotEqual(plan(first), plan(other))

    def test_closed_loop_clients(self):
        # Requests of 100 tokens outlast sending three of them by far.
        preset = self.preset("clients", output={"tokens": 100, "ignore_eos": True})
        report, _ = self.run_report(preset, "--clients", "3", "--requests", "7")
        run = report["runs"][0]
        self.assertEqual(run["arrival"], {"pattern": "concurrency", "clients": 3})
        self.assertEqual(run["requests"]["finished"], 7)
        # In flight when each request was sent (a request ends at its finish, a little before
        # its client is free again): never more than the 3 clients, and 3 at some point.
        spans = [(r["sent_s"], r["sent_s"] + r["e2e_ms"] / 1000) for r in run["per_request"]]
        in_flight = [sum(1 for start, end in spans if start <= sent < end) for sent, _ in spans]
        self.assertEqual(max(in_flight), 3)

    def test_failed_requests_are_counted_by_code(self):
        preset = self.preset("deadline", output={"tokens": 400, "ignore_eos": True})
        report, table = self.run_report(preset, "--timeout-s", "0.001", "--requests", "5")
        requests = report["runs"][0]["requests"]
        self.assertEqual(requests["sent"], requests["finished"] + requests["errors"])
        self.assertGreater(requests["errors"], 0)
        self.assertEqual(set(requests["errors_by_code"]), {"DEADLINE_EXCEEDED"})
        self.assertEqual(sum(requests["errors_by_code"].values()), requests["errors"])
        self.assertIn("DEADLINE_EXCEEDED", table)

    def test_text_file_prompts_have_the_planned_lengths(self):
        preset = self.preset("text", requests=4, prompt={
            "source": "text_file", "path": "bench/prompts/python_code.txt",
            "tokens": {"distribution": "uniform", "min": 16, "max": 64}})
        report, _ = self.run_report(preset)
        for r in report["runs"][0]["per_request"]:
            self.assertEqual(r["outcome"], "OK")
            self.assertEqual(r["prompt_tokens"], r["requested_prompt_tokens"])

    def test_plot_load_draws_the_report(self):
        report_path = os.path.join(self.dir, "for_plot.json")
        result = self.bench("--workload", self.preset("plot"), "--json-out", report_path, "--requests", "4")
        self.assertEqual(result.returncode, 0, result.stderr)
        prefix = os.path.join(self.dir, "plot")
        plot = subprocess.run(["/usr/bin/python3", os.path.join(e2e_env.SOURCE_DIR, "bench", "plot_load.py"),
                               report_path, "--out", prefix], capture_output=True, text=True, timeout=120)
        self.assertEqual(plot.returncode, 0, plot.stderr)
        for suffix in ("_latency.png", "_throughput.png"):
            with open(prefix + suffix, "rb") as f:
                self.assertEqual(f.read(8), b"\x89PNG\r\n\x1a\n")

    def test_bad_presets_and_flags_exit_2_naming_the_problem(self):
        cases = [
            (["--workload", self.preset("typo", arival={})], "unknown key 'arival'"),
            (["--workload", self.preset("rate", arrival={"pattern": "poisson", "rate": -1})],
             "'arrival': 'rate' must be a positive number, got -1"),
            (["--workload", self.preset("small")], "--rate must be a positive number"),
            (["--workload", os.path.join(self.dir, "missing.json")], "missing.json: cannot open"),
            (["--workload", self.preset("nofile", prompt={"source": "text_file", "path": "no/such.txt", "tokens": 8})],
             "no/such.txt: cannot open the prompt file"),
        ]
        cases[2][0].extend(["--rate", "0"])
        for args, message in cases:
            with self.subTest(message=message):
                result = self.bench(*args)
                self.assertEqual(result.returncode, 2, result.stderr)
                self.assertIn(message, result.stderr)
                self.assertEqual(result.stdout, "")

    def test_a_workload_longer_than_the_context_exits_1(self):
        result = self.bench("--workload", self.preset("long", prompt={"source": "random", "tokens": 20000}))
        self.assertEqual(result.returncode, 1, result.stderr)
        self.assertIn("prompts of up to 20000 tokens plus outputs of up to 12 exceed the context of 16384", result.stderr)


if __name__ == "__main__":
    unittest.main()
