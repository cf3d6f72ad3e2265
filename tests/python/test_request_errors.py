"""(b) Requests the server must refuse: INVALID_ARGUMENT with a message that names the field,
before anything runs; and the same fields at the edge of their ranges are accepted."""

import math
import time
import unittest

import grpc

import e2e_env
from server_process import ServerProcess
from stream_helpers import StreamReader, greedy_request, read_stream, wait_until_idle


class RequestErrorsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = ServerProcess().start()
        cls.g = e2e_env.stubs().generation
        info = cls.server.admin.GetModelInfo(e2e_env.stubs().admin.GetModelInfoRequest(), timeout=5)
        cls.context_length = info.context_length

    @classmethod
    def tearDownClass(cls):
        cls.server.stop_cleanly()

    def request(self, text="hi", sampling=None, stopping=None, response=None, **fields):
        g = self.g
        return g.GenerateRequest(
            text=text, sampling=sampling or g.SamplingOptions(temperature=0.0),
            stopping=stopping or g.StoppingOptions(max_tokens=2),
            response=response or g.ResponseOptions(), **fields)

    def assert_refused(self, request, code, *words):
        with self.assertRaises(grpc.RpcError) as raised:
            list(self.server.generation.Generate(request, timeout=10))
        self.assertEqual(raised.exception.code(), code, raised.exception.details())
        for word in words:
            self.assertIn(word, raised.exception.details())

    def test_invalid_fields(self):
        g = self.g
        rows = [
            ("empty prompt", self.request(text=""), "prompt"),
            ("no prompt", g.GenerateRequest(), "prompt"),
            ("empty token_ids", g.GenerateRequest(token_ids=g.TokenIds(ids=[])), "token_ids"),
            ("token id out of vocabulary", g.GenerateRequest(token_ids=g.TokenIds(ids=[256, 104, 512])),
             "token_ids[2]", "512"),
            ("negative token id", g.GenerateRequest(token_ids=g.TokenIds(ids=[-1])), "token_ids[0]"),
            ("prompt + max_tokens beyond the context",
             self.request(stopping=g.StoppingOptions(max_tokens=self.context_length)),
             "max_tokens", str(self.context_length)),
            ("max_tokens 0", self.request(stopping=g.StoppingOptions(max_tokens=0)), "max_tokens"),
            ("temperature -1", self.request(sampling=g.SamplingOptions(temperature=-1.0)), "temperature"),
            ("temperature NaN", self.request(sampling=g.SamplingOptions(temperature=math.nan)), "temperature"),
            ("top_p 0", self.request(sampling=g.SamplingOptions(top_p=0.0)), "top_p"),
            ("top_p 1.5", self.request(sampling=g.SamplingOptions(top_p=1.5)), "top_p"),
            ("top_k -1", self.request(sampling=g.SamplingOptions(top_k=-1)), "top_k"),
            ("min_p 2", self.request(sampling=g.SamplingOptions(min_p=2.0)), "min_p"),
            ("top_logprobs 21", self.request(response=g.ResponseOptions(top_logprobs=21)), "top_logprobs"),
            ("17 stop strings", self.request(stopping=g.StoppingOptions(
                max_tokens=2, stop=[f"stop{i}" for i in range(17)])), "stop", "16"),
            ("a 300-byte stop string", self.request(stopping=g.StoppingOptions(
                max_tokens=2, stop=["x" * 300])), "stop[0]", "256"),
            ("unknown qos_class", self.request(qos_class="platinum"), "qos_class", "platinum"),
        ]
        for name, request, *words in rows:
            with self.subTest(name):
                self.assert_refused(request, grpc.StatusCode.INVALID_ARGUMENT, *words)
        load = wait_until_idle(self.server.admin)
        self.assertEqual((load.running, load.waiting, load.kv_cache_usage), (0, 0, 0.0))

    def test_edges_of_the_ranges_are_accepted(self):
        g = self.g
        rows = [
            ("top_p 1, top_k 0, min_p 1", self.request(sampling=g.SamplingOptions(
                temperature=0.7, top_p=1.0, top_k=0, min_p=1.0, seed=3))),
            ("top_logprobs 20", self.request(response=g.ResponseOptions(top_logprobs=20))),
            ("16 stop strings of 256 bytes", self.request(stopping=g.StoppingOptions(
                max_tokens=2, stop=[chr(ord("a") + i) * 256 for i in range(16)]))),
            ("the default qos_class by name", self.request(qos_class="standard")),
        ]
        for name, request in rows:
            with self.subTest(name):
                _, _, finishes = read_stream(self.server.generation.Generate(request, timeout=10))
                self.assertEqual(len(finishes), 1)
                self.assertGreaterEqual(finishes[0].finish.usage.completion_tokens, 1)
                self.assertLessEqual(finishes[0].finish.usage.completion_tokens, 2)

    def test_top_logprobs_20_gives_20_alternatives(self):
        request = self.request(response=self.g.ResponseOptions(top_logprobs=20))
        _, deltas, _ = read_stream(self.server.generation.Generate(request, timeout=10))
        logprobs = [lp for m in deltas for lp in m.delta.logprobs]
        self.assertEqual(len(logprobs), 2)
        for entry in logprobs:
            self.assertEqual(len(entry.top), 20)
            self.assertEqual(entry.rank, 1)  # greedy: the sampled token is the most likely one
            self.assertEqual(entry.top[0].token_id, entry.token_id)

    def test_duplicate_request_id_in_flight(self):
        first = StreamReader(self.server.generation.Generate(
            greedy_request("hi", 12000, request_id="dup-1"), timeout=30))
        try:
            first.wait_first_delta()
            self.assert_refused(greedy_request("hi", 4, request_id="dup-1"),
                                grpc.StatusCode.INVALID_ARGUMENT, "request_id", "dup-1")
            refused_at = time.monotonic()
            # The refusal leaves the first stream alone: it keeps producing tokens.
            while first.tokens_after(refused_at) == 0 and time.monotonic() < refused_at + 5:
                time.sleep(0.01)
            self.assertGreater(first.tokens_after(refused_at), 0)
            self.assertIsNone(first.ended_at, "the first stream must still be running")
        finally:
            first.call.cancel()
            first.join()
        self.assertEqual(first.code, grpc.StatusCode.CANCELLED)
        load = wait_until_idle(self.server.admin)
        self.assertEqual((load.running, load.kv_cache_usage), (0, 0.0))
        # Once the first is gone, the id is free again.
        _, _, finishes = read_stream(self.server.generation.Generate(
            greedy_request("hi", 4, request_id="dup-1"), timeout=10))
        self.assertEqual(finishes[0].finish.usage.completion_tokens, 4)


if __name__ == "__main__":
    unittest.main()
