"""(g) specd-cli against a live server: a greedy `generate --json` gives the same ids, text and
finish as the Python client; `health` prints SERVING; tokenize and model-info print the
server's answers; server errors exit 1 with the gRPC code name, usage errors exit 2."""

import json
import subprocess
import unittest

import e2e_env
from server_process import ServerProcess
from stream_helpers import delta_ids, delta_text, read_stream


class CliTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = ServerProcess().start()
        cls.g = e2e_env.stubs().generation

    @classmethod
    def tearDownClass(cls):
        cls.server.stop_cleanly()

    def cli(self, *args):
        command = [e2e_env.binary("specd-cli"), "--server", self.server.address, "--timeout-s", "20", *args]
        return subprocess.run(command, capture_output=True, text=True, timeout=30)

    def python_greedy(self, prompt, max_tokens):
        request = self.g.GenerateRequest(text=prompt, sampling=self.g.SamplingOptions(temperature=0.0),
                                         stopping=self.g.StoppingOptions(max_tokens=max_tokens))
        return read_stream(self.server.generation.Generate(request, timeout=20))

    def test_generate_json_matches_the_python_client(self):
        prompt = "specd says hello"
        infos, deltas, finishes = self.python_greedy(prompt, 24)
        result = self.cli("generate", "--prompt", prompt, "--max-tokens", "24", "--temperature", "0", "--json")
        self.assertEqual(result.returncode, 0, result.stderr)
        summary = json.loads(result.stdout)
        self.assertEqual(summary["token_ids"], delta_ids(deltas))
        self.assertEqual(summary["text"], delta_text(deltas))
        self.assertEqual(summary["prompt_tokens"], infos[0].prompt_info.prompt_tokens)
        finish = finishes[0].finish
        self.assertEqual(summary["finish_reason"], self.g.FinishReason.Name(finish.reason)
                         .removeprefix("FINISH_REASON_").lower())
        self.assertEqual(summary["usage"]["completion_tokens"], finish.usage.completion_tokens)
        self.assertEqual(summary["usage"]["prompt_tokens"], finish.usage.prompt_tokens)
        self.assertEqual(len(summary["token_ids"]), finish.usage.completion_tokens)

    def test_generate_streams_the_text(self):
        _, deltas, _ = self.python_greedy("stream it", 16)
        result = self.cli("generate", "--prompt", "stream it", "--max-tokens", "16", "--temperature", "0")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(result.stdout, delta_text(deltas) + "\n")

    def test_health_prints_serving(self):
        for args in (["health"], ["health", "--service", "specd.v1.Generation"]):
            with self.subTest(args=args):
                result = self.cli(*args)
                self.assertEqual(result.returncode, 0, result.stderr)
                self.assertEqual(result.stdout, "SERVING\n")

    def test_tokenize_prints_the_servers_ids(self):
        ids = self.server.generation.Tokenize(self.g.TokenizeRequest(text="hello cli"), timeout=5).token_ids
        result = self.cli("tokenize", "--text", "hello cli")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(result.stdout.split(), [str(i) for i in ids])

    def test_model_info(self):
        result = self.cli("model-info")
        self.assertEqual(result.returncode, 0, result.stderr)
        lines = dict(line.split(": ", 1) for line in result.stdout.splitlines() if ": " in line)
        self.assertEqual(lines["vocab_size"], "512")
        self.assertEqual(lines["context_length"], "16384")
        self.assertEqual(lines["architecture"], "LlamaForCausalLM")
        self.assertEqual(lines["runner"], "cpu")

    def test_server_error_exits_1_with_the_code_name(self):
        result = self.cli("generate", "--prompt", "x", "--temperature", "-1")
        self.assertEqual(result.returncode, 1)
        self.assertIn("INVALID_ARGUMENT", result.stderr)
        self.assertIn("temperature", result.stderr)
        self.assertEqual(result.stdout, "")

    def test_unknown_health_service_exits_1(self):
        result = self.cli("health", "--service", "nope")
        self.assertEqual(result.returncode, 1)
        self.assertIn("NOT_FOUND", result.stderr)

    def test_usage_errors_exit_2(self):
        for args in (["generate"], ["generate", "--prompt", "x", "--max-tokens", "many"], ["frobnicate"],
                     ["tokenize", "--text", "x", "--bogus"]):
            with self.subTest(args=args):
                result = self.cli(*args)
                self.assertEqual(result.returncode, 2, result.stderr)
                self.assertIn("usage:", result.stderr)

    def test_unreachable_server_is_unavailable(self):
        result = subprocess.run([e2e_env.binary("specd-cli"), "--server", "127.0.0.1:1", "model-info"],
                                capture_output=True, text=True, timeout=30)
        self.assertEqual(result.returncode, 1)
        self.assertIn("UNAVAILABLE", result.stderr)


if __name__ == "__main__":
    unittest.main()
