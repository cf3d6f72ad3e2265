"""Small helpers the end-to-end tests share: request builders, reading a Generate stream in
the background, and waiting for the server's load to return to idle."""

import threading
import time

import grpc

import e2e_env


def greedy_request(text="The quick brown fox", max_tokens=32, request_id="", **fields):
    """A greedy request that runs to max_tokens (ignore_eos: a random model may emit eos)."""
    g = e2e_env.stubs().generation
    return g.GenerateRequest(
        request_id=request_id, text=text, sampling=g.SamplingOptions(temperature=0.0),
        stopping=g.StoppingOptions(max_tokens=max_tokens, ignore_eos=True), **fields)


def read_stream(call):
    """All messages of a Generate stream, split as (prompt_infos, deltas, finishes)."""
    infos, deltas, finishes = [], [], []
    for message in call:
        kind = message.WhichOneof("kind")
        {"prompt_info": infos, "delta": deltas, "finish": finishes}[kind].append(message)
    return infos, deltas, finishes


def delta_ids(deltas):
    return [token for message in deltas for token in message.delta.token_ids]


def delta_text(deltas):
    return "".join(message.delta.text for message in deltas)


class StreamReader:
    """Reads a Generate call on a background thread, recording every message with its arrival
    time, and how the stream ended (`code` is grpc.StatusCode.OK for a normal end)."""

    def __init__(self, call):
        self.call = call
        self.messages = []   # (monotonic time, GenerateResponse)
        self.code = None
        self.details = None
        self.ended_at = None
        self._first_delta = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        try:
            for message in self.call:
                self.messages.append((time.monotonic(), message))
                if message.WhichOneof("kind") == "delta":
                    self._first_delta.set()
            self.code = grpc.StatusCode.OK
        except grpc.RpcError as error:
            self.code, self.details = error.code(), error.details()
        self.ended_at = time.monotonic()
        self._first_delta.set()

    def wait_first_delta(self, timeout=10.0):
        assert self._first_delta.wait(timeout), "no token arrived"
        assert self.ended_at is None, f"the stream ended early: {self.code} {self.details}"

    def join(self, timeout=30.0):
        self._thread.join(timeout)
        assert not self._thread.is_alive(), "the stream did not end"

    def kinds(self):
        return [message.WhichOneof("kind") for _, message in self.messages]

    def tokens_after(self, moment):
        return sum(len(m.delta.token_ids) for t, m in self.messages if t > moment and m.HasField("delta"))


def wait_until_idle(admin, timeout=3.0):
    """Polls Admin.GetLoad until nothing runs, waits or holds KV blocks; returns the last Load."""
    request = e2e_env.stubs().admin.GetLoadRequest()
    deadline = time.monotonic() + timeout
    while True:
        load = admin.GetLoad(request, timeout=2.0)
        if (load.running, load.waiting, load.kv_cache_usage) == (0, 0, 0.0) or time.monotonic() > deadline:
            return load
        time.sleep(0.01)
