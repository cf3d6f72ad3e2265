"""(e, f) A client that gives up frees everything: a deadline (DEADLINE_EXCEEDED) or a cancel
(CANCELLED) mid-stream leaves Admin.GetLoad at running 0, waiting 0, kv_cache_usage 0, and the
server still serves and shuts down cleanly afterwards."""

import time
import unittest

import grpc

import e2e_env
from server_process import ServerProcess
from stream_helpers import StreamReader, greedy_request, read_stream, wait_until_idle

LONG_TOKENS = 12000  # several seconds on the CPU: far past the deadlines below


class CancellationTest(unittest.TestCase):
    # A server per test: a crash or a hang in one case must not hide the other.
    def setUp(self):
        self.server = ServerProcess().start()
        self.a = e2e_env.stubs().admin

    def tearDown(self):
        try:
            self.server.stop_cleanly()  # shutdown must not wait on the abandoned stream
        finally:
            self.server.kill()

    def load(self):
        return self.server.admin.GetLoad(self.a.GetLoadRequest(), timeout=5)

    def assert_idle_and_still_serving(self):
        load = wait_until_idle(self.server.admin)
        self.assertEqual((load.running, load.waiting), (0, 0))
        self.assertEqual(load.kv_cache_usage, 0.0)
        _, _, finishes = read_stream(self.server.generation.Generate(greedy_request("after", 8), timeout=10))
        self.assertEqual(finishes[0].finish.usage.completion_tokens, 8)

    def assert_running_with_blocks(self):
        load = self.load()
        self.assertEqual(load.running, 1)
        self.assertGreater(load.kv_cache_usage, 0.0)

    def test_client_deadline_gives_deadline_exceeded_and_frees_the_request(self):
        started = time.monotonic()
        stream = StreamReader(self.server.generation.Generate(
            greedy_request("deadline", LONG_TOKENS, request_id="deadline-1"), timeout=0.2))
        stream.wait_first_delta()
        self.assert_running_with_blocks()
        stream.join(timeout=10)
        self.assertEqual(stream.code, grpc.StatusCode.DEADLINE_EXCEEDED)
        self.assertGreaterEqual(stream.ended_at - started, 0.19)
        self.assertLess(stream.ended_at - started, 3.0)
        self.assertNotIn("finish", stream.kinds())
        self.assert_idle_and_still_serving()

    def test_cancel_mid_stream_frees_the_request(self):
        # Cancelling at different points of the stream (a write may or may not be in flight).
        for tokens_before_cancel in (1, 3, 40):
            with self.subTest(tokens_before_cancel=tokens_before_cancel):
                call = self.server.generation.Generate(
                    greedy_request("cancel", LONG_TOKENS, request_id="cancel-1"), timeout=30)
                received = 0
                for message in call:
                    received += len(message.delta.token_ids)
                    if received >= tokens_before_cancel:
                        break
                self.assert_running_with_blocks()
                call.cancel()
                with self.assertRaises(grpc.RpcError) as raised:
                    next(call)
                self.assertEqual(raised.exception.code(), grpc.StatusCode.CANCELLED)
                self.assert_idle_and_still_serving()
        # The id is free again once the engine has dropped it.
        _, _, finishes = read_stream(self.server.generation.Generate(
            greedy_request("again", 4, request_id="cancel-1"), timeout=10))
        self.assertEqual(finishes[0].finish.usage.completion_tokens, 4)


if __name__ == "__main__":
    unittest.main()
