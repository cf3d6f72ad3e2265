"""specd-bench list and run on this machine: the speculative pair (engine on the bundled pair,
plain against draft-and-verify) in its quick form on the CPU runner: exit codes, the JSON report,
--update-expectations, and the 0.75 rule failing a run against an inflated stored speedup.
GPU pairs are listed, and skipped without a GPU.

Environment (set by ctest): SPECD_BIN_DIR, the build's bin/ folder."""

import json
import os
import subprocess
import tempfile
import unittest

BIN_DIR = os.environ.get("SPECD_BIN_DIR", os.path.join(os.path.dirname(__file__), "..", "..", "build", "bin"))
BENCH = os.path.join(BIN_DIR, "specd-bench")
PAIRS = ["flexdecoding", "cudagraph_bucketing", "eos_sync_polling", "rope_q_cache", "paged_attn",
         "tensor_cores", "tiny_gemm_pdl", "decode_graphs", "v1_integration", "speculative"]


def bench(*args):
    return subprocess.run([BENCH, *args], capture_output=True, text=True, timeout=120)


class HarnessSpeculativeTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="specd_harness_")
        self.expectations = os.path.join(self.dir, "expectations.json")
        self.report = os.path.join(self.dir, "report.json")

    def run_speculative(self, *extra):
        return bench("run", "--targets", "speculative", "--repeats", "1", "--quick",
                     "--expectations", self.expectations, "--out", self.report, *extra)

    def test_list_names_every_pair(self):
        listed = bench("list")
        self.assertEqual(listed.returncode, 0, listed.stderr)
        names = [line.split()[0] for line in listed.stdout.splitlines()]
        self.assertEqual(names, PAIRS)

    def test_speculative_new_then_updated_then_judged(self):
        first = self.run_speculative()
        self.assertEqual(first.returncode, 0, first.stdout + first.stderr)
        with open(self.report) as f:
            pair = json.load(f)["pairs"][0]
        self.assertEqual(pair["name"], "speculative")
        self.assertEqual(pair["status"], "new")
        self.assertTrue(pair["outputs_match"])
        self.assertEqual(pair["output_rule"], "token-exact")
        self.assertGreater(pair["speedup"], 0)
        self.assertGreater(pair["optimized"]["tokens_per_s"], 0)

        updated = self.run_speculative("--update-expectations")
        self.assertEqual(updated.returncode, 0, updated.stdout + updated.stderr)
        with open(self.expectations) as f:
            stored = json.load(f)
        self.assertEqual(stored["schema_version"], 1)
        self.assertIn("speculative", stored["pairs"])

        stored["pairs"]["speculative"]["speedup"] = 1000.0  # no run reaches 0.75 x this
        with open(self.expectations, "w") as f:
            json.dump(stored, f)
        slower = self.run_speculative()
        self.assertEqual(slower.returncode, 1, slower.stdout + slower.stderr)
        self.assertIn("slower", slower.stdout)

    def test_gpu_pairs_skip_and_bad_targets_exit_2(self):
        skipped = bench("run", "--targets", "flexdecoding,decode_graphs", "--expectations", self.expectations)
        self.assertEqual(skipped.returncode, 0, skipped.stdout + skipped.stderr)
        self.assertIn("flexdecoding: skipped", skipped.stdout)
        unknown = bench("run", "--targets", "nope")
        self.assertEqual(unknown.returncode, 2)
        self.assertIn("unknown pair 'nope'", unknown.stderr)


if __name__ == "__main__":
    unittest.main()
