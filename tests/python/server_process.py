"""ServerProcess: one `specd serve` subprocess on an ephemeral port, for end-to-end tests.

start() runs `specd serve --listen 127.0.0.1:0 --port-file F` on the tiny model with
configs/serve_cpu.json (or another --config, or none), waits for the port file (written once the
model is loaded) and for the readiness service to report SERVING. stop() sends SIGTERM and returns the exit code. The
server's log goes to a file; failures quote its tail.
"""

import atexit
import json
import os
import signal
import subprocess
import time

import grpc

import e2e_env

READINESS = "specd.v1.Generation"
LIVENESS = ""

_started = []  # every ServerProcess; none may outlive the test process


@atexit.register
def _kill_leftovers():
    for server in _started:
        server.kill()


class ServerProcess:
    def __init__(self, *extra_args, config=e2e_env.SERVE_CONFIG, env=None):
        """config: the --config file, or None to pass no --config; env: variables added to the
        server's environment."""
        self._extra_args = list(extra_args)
        self._config_args = [] if config is None else ["--config", config]
        self._env = {**os.environ, **(env or {})}
        self._process = None
        self._channel = None
        self._dir = None
        self.port = None
        self.metrics_port = None

    # --- lifecycle -------------------------------------------------------------------------

    def start(self, timeout=30.0):
        s = e2e_env.stubs()
        self._dir = os.path.join(e2e_env.scratch_dir(), f"server_{time.monotonic_ns()}")
        os.makedirs(self._dir)
        port_file = os.path.join(self._dir, "ports.json")
        command = [e2e_env.binary("specd"), "serve", *self._config_args,
                   "--model", e2e_env.tiny_model_dir(), "--listen", "127.0.0.1:0",
                   "--metrics-port", "0", "--port-file", port_file, *self._extra_args]
        with open(self.log_path, "w") as log:
            self._process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT,
                                             cwd=e2e_env.SOURCE_DIR, env=self._env)
        _started.append(self)
        deadline = time.monotonic() + timeout
        while not os.path.exists(port_file):
            self._check_alive_until(deadline, "writing the port file")
            time.sleep(0.02)
        with open(port_file) as f:
            ports = json.load(f)
        self.port, self.metrics_port = ports["grpc_port"], ports["metrics_port"]
        self._channel = grpc.insecure_channel(f"127.0.0.1:{self.port}")
        self.generation = s.generation_grpc.GenerationStub(self._channel)
        self.admin = s.admin_grpc.AdminStub(self._channel)
        self.health = s.health_grpc.HealthStub(self._channel)
        self.wait_for_status(READINESS, s.health.HealthCheckResponse.SERVING, deadline - time.monotonic())
        return self

    def sigterm(self):
        self.send_signal(signal.SIGTERM)

    def send_signal(self, signum):
        self._process.send_signal(signum)

    def kill(self):
        """SIGKILL, for cleaning up after a failed test; no-op once it has exited."""
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
            self._process.wait()

    def wait_exit(self, timeout=10.0):
        """The exit code; kills the server and fails if it does not exit in time."""
        try:
            return self._process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
            raise AssertionError(f"specd did not exit within {timeout} s\n{self.log_tail()}")

    def close_channel(self):
        """Closes the tests' connection (an idle open connection holds specd's final gRPC
        shutdown for its whole grace period)."""
        if self._channel is not None:
            self._channel.close()
            self._channel = None

    def stop(self):
        """SIGTERM, then the exit code (None if it was never started or has already exited)."""
        self.close_channel()
        if self._process is None or self._process.poll() is not None:
            return None if self._process is None else self._process.returncode
        self.sigterm()
        return self.wait_exit()

    def stop_cleanly(self):
        """stop(), failing unless the server exits 0 (a shutdown with nothing in flight)."""
        code = self.stop()
        if code != 0:
            raise AssertionError(f"specd exited with {code}, not 0\n{self.log_tail()}")

    # --- observations ----------------------------------------------------------------------

    @property
    def address(self):
        return f"127.0.0.1:{self.port}"

    @property
    def log_path(self):
        return os.path.join(self._dir, "specd.log")

    def log_tail(self, lines=30):
        try:
            with open(self.log_path) as f:
                return "".join(f.readlines()[-lines:])
        except OSError:
            return "(no log)"

    def serving_status(self, service, timeout=2.0):
        request = e2e_env.stubs().health.HealthCheckRequest(service=service)
        return self.health.Check(request, timeout=timeout).status

    def wait_for_status(self, service, status, timeout=10.0):
        """Polls Health.Check until `service` reports `status`; fails with the last answer."""
        deadline = time.monotonic() + timeout
        last = None
        while True:
            try:
                last = self.serving_status(service)
                if last == status:
                    return
            except grpc.RpcError as error:
                last = error.code()
            self._check_alive_until(deadline, f"health of '{service}' to become {status} (last: {last})")
            time.sleep(0.02)

    def _check_alive_until(self, deadline, waiting_for):
        if self._process.poll() is not None:
            raise AssertionError(f"specd exited ({self._process.returncode}) while waiting for "
                                 f"{waiting_for}\n{self.log_tail()}")
        if time.monotonic() > deadline:
            self._process.kill()
            raise AssertionError(f"timed out waiting for {waiting_for}\n{self.log_tail()}")
