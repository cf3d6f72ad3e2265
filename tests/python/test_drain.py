"""(d) SIGTERM drains: readiness turns NOT_SERVING, new Generate calls get UNAVAILABLE, running
streams finish normally (or, past --drain-timeout-s, end with UNAVAILABLE), and specd exits 0."""

import signal
import time
import unittest

import grpc

import e2e_env
from server_process import LIVENESS, READINESS, ServerProcess
from stream_helpers import StreamReader, delta_ids, greedy_request

# About 1-2 s of decoding for the tiny model on one CPU core (attention grows with the context).
DRAINABLE_TOKENS = 4000
# Far longer than any drain timeout below.
ENDLESS_TOKENS = 16000


class DrainTest(unittest.TestCase):
    def setUp(self):
        self.h = e2e_env.stubs().health
        self.server = None

    def tearDown(self):
        if self.server is not None:
            self.server.kill()

    def test_running_stream_finishes_and_new_calls_are_refused(self):
        self.server = ServerProcess().start()
        stream = StreamReader(self.server.generation.Generate(
            greedy_request("drain me", DRAINABLE_TOKENS, request_id="drain-1"), timeout=60))
        stream.wait_first_delta()
        self.server.sigterm()
        self.server.wait_for_status(READINESS, self.h.HealthCheckResponse.NOT_SERVING, timeout=5)
        not_serving_at = time.monotonic()
        with self.assertRaises(grpc.RpcError) as refused:
            list(self.server.generation.Generate(greedy_request("too late", 4), timeout=5))
        self.assertEqual(refused.exception.code(), grpc.StatusCode.UNAVAILABLE)
        self.assertIn("shutting down", refused.exception.details())
        refused_at = time.monotonic()
        # Liveness stays SERVING while the engine drains.
        self.assertEqual(self.server.serving_status(LIVENESS), self.h.HealthCheckResponse.SERVING)
        self.assertIsNone(stream.ended_at, "the stream ended before the drain was observed; "
                          "raise DRAINABLE_TOKENS for this machine")

        stream.join(timeout=60)
        self.assertEqual(stream.code, grpc.StatusCode.OK, stream.details)
        messages = [m for _, m in stream.messages]
        self.assertEqual(stream.kinds()[0], "prompt_info")
        self.assertEqual(stream.kinds()[-1], "finish")
        finish = messages[-1].finish
        self.assertEqual(finish.reason, e2e_env.stubs().generation.FINISH_REASON_LENGTH)
        self.assertEqual(finish.usage.completion_tokens, DRAINABLE_TOKENS)
        self.assertEqual(len(delta_ids(messages[1:-1])), DRAINABLE_TOKENS)
        self.assertGreater(stream.tokens_after(refused_at), 0, "no tokens were streamed during the drain")
        self.assertGreater(stream.ended_at, not_serving_at)
        self.server.close_channel()
        self.assertEqual(self.server.wait_exit(timeout=15), 0, self.server.log_tail())

    def test_drain_timeout_ends_the_stream_with_unavailable(self):
        self.server = ServerProcess("--drain-timeout-s", "0.3").start()
        stream = StreamReader(self.server.generation.Generate(
            greedy_request("never ends", ENDLESS_TOKENS, request_id="drain-2"), timeout=60))
        stream.wait_first_delta()
        signalled_at = time.monotonic()
        self.server.sigterm()
        stream.join(timeout=15)
        self.assertEqual(stream.code, grpc.StatusCode.UNAVAILABLE, stream.details)
        self.assertNotIn("finish", stream.kinds())
        elapsed = stream.ended_at - signalled_at
        self.assertGreaterEqual(elapsed, 0.25)
        self.assertLess(elapsed, 5.0)
        self.assertGreater(stream.tokens_after(signalled_at), 0, "the stream did not run during the drain")
        received = sum(len(m.delta.token_ids) for _, m in stream.messages if m.HasField("delta"))
        self.assertLess(received, ENDLESS_TOKENS)
        self.server.close_channel()
        self.assertEqual(self.server.wait_exit(timeout=15), 0, self.server.log_tail())

    def test_sigint_also_drains_and_exits_0(self):
        self.server = ServerProcess().start()
        self.server.close_channel()
        self.server.send_signal(signal.SIGINT)
        self.assertEqual(self.server.wait_exit(timeout=15), 0, self.server.log_tail())


if __name__ == "__main__":
    unittest.main()
