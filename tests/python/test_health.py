"""(c) grpc.health.v1 on a started server: liveness ("") and readiness ("specd.v1.Generation")
are SERVING; an unknown service is NOT_FOUND; Watch reports readiness as its first message."""

import unittest

import grpc

import e2e_env
from server_process import LIVENESS, READINESS, ServerProcess


class HealthTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = ServerProcess().start()
        cls.h = e2e_env.stubs().health

    @classmethod
    def tearDownClass(cls):
        cls.server.stop_cleanly()

    def test_liveness_is_serving(self):
        self.assertEqual(self.server.serving_status(LIVENESS), self.h.HealthCheckResponse.SERVING)

    def test_readiness_is_serving_after_start(self):
        self.assertEqual(self.server.serving_status(READINESS), self.h.HealthCheckResponse.SERVING)

    def test_unknown_service_is_not_found(self):
        with self.assertRaises(grpc.RpcError) as raised:
            self.server.serving_status("specd.v1.NoSuchService")
        self.assertEqual(raised.exception.code(), grpc.StatusCode.NOT_FOUND)

    def test_watch_reports_readiness(self):
        call = self.server.health.Watch(self.h.HealthCheckRequest(service=READINESS), timeout=5)
        try:
            self.assertEqual(next(call).status, self.h.HealthCheckResponse.SERVING)
        finally:
            call.cancel()


if __name__ == "__main__":
    unittest.main()
