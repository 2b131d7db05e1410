"""Slow and long-lived connections cost `memory-api serve` no worker thread (issue 11, item 1).

The real command runs in a subprocess at its default worker model (gevent) and worker count.
Fifty slowloris connections dribble request headers and never finish them, twenty streamed
chats hold a slow provider open, and meanwhile another user's requests keep answering within the
issue's 100 ms. Under the old default (gthread, 2 workers x 4 threads) eight such connections took
every thread. The per-API-key cap on concurrent streams answers 429 past MEMORY_API_MAX_STREAMS_PER_KEY.
"""

from __future__ import annotations

from http.client import HTTPConnection
import json
import math
import socket
import threading
import time

from fake_llm import FakeLLM
from helpers import wait_until
from test_serve_embedded import Serve, http

SLOWLORIS = 50
STREAM_KEYS = 5
STREAMS_PER_KEY = 4  # the default cap: 5 keys x 4 = 20 streams
# The issue asks for answers within 100 ms. On a shared 2-core CI machine any one request can be
# descheduled for longer than that, whatever the server does, so the bound is held by the median and
# the 95th percentile of many requests, and every request must still answer within a hard bound. A
# worker held by slow clients fails all three: the other user's requests then queue behind whole
# streams (seconds) or never answer. The figures are printed (pytest -s); see docs/benchmarks.md.
ROUNDS = 40  # of four requests each: health, a write, a list, stats
ANSWER_WITHIN_SECONDS = 0.1  # the median and the 95th percentile
EVERY_ANSWER_WITHIN_SECONDS = 1.0


class Slowloris:
    """Connections that send a request line and then one header line at a time, never the end."""

    def __init__(self, port: int, count: int) -> None:
        self.sockets = []
        for _ in range(count):
            s = socket.create_connection(("127.0.0.1", port), timeout=5)
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n")
            self.sockets.append(s)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._dribble, daemon=True)
        self._thread.start()

    def _dribble(self) -> None:
        n = 0
        while not self._stop.wait(0.5):
            n += 1
            for s in self.sockets:
                try:
                    s.sendall(f"X-Slow-{n}: {'a' * 10}\r\n".encode())
                except OSError:
                    pass

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        for s in self.sockets:
            s.close()


class OpenStream:
    """A streamed chat request, read up to its first event; `finish()` reads it to the end."""

    def __init__(self, port: int, key: str) -> None:
        self.conn = HTTPConnection("127.0.0.1", port, timeout=30)
        self.conn.request("POST", "/v1/chat/completions", headers={
            "Authorization": f"Bearer {key}", "Content-Type": "application/json"},
            body=json.dumps({"model": "gpt-test", "stream": True, "memory": {"inject": False},
                             "messages": [{"role": "user", "content": "hold on"}]}))
        self.response = self.conn.getresponse()
        self.status = self.response.status
        self.first_line = self.response.readline() if self.status == 200 else b""

    def finish(self) -> bytes:
        try:
            return self.response.read()
        finally:
            self.conn.close()


def timed(method: str, url: str, key: str, body: dict | None = None) -> tuple[float, int]:
    started = time.perf_counter()
    status, _ = http(method, url, key, body)
    return time.perf_counter() - started, status


def percentile(ordered: list[float], fraction: float) -> float:
    """The nearest-rank percentile of an ascending list."""
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def create_keys(data_dir, users: list[str]) -> list[str]:
    """Keys for `users`, made in this process on serve's embedded Redis (attached to, as the CLI does)."""
    from memory_api.config import Settings
    from memory_api.services import Services
    from memory_api.store.embedded import EmbeddedRedis

    embedded = EmbeddedRedis.attach(data_dir)
    try:
        services = Services.build(Settings(redis_url=embedded.url, embeddings="off", log_level="WARNING"))
        try:
            return [services.keys.create(user=user)[0] for user in users]
        finally:
            services.close()
    finally:
        embedded.release()


def test_slow_clients_and_streams_leave_other_users_answered(tmp_path):
    data_dir = tmp_path / "data"
    with FakeLLM() as fake:
        fake.stream_gate = threading.Event()
        serve = Serve(data_dir, workers=2, OPENAI_BASE_URL=fake.url, OPENAI_API_KEY="sk-upstream")
        slowloris = None
        streams: list[OpenStream] = []
        try:
            keys = create_keys(data_dir, [f"user{i}" for i in range(STREAM_KEYS + 1)])
            streamers, bob = keys[:STREAM_KEYS], keys[STREAM_KEYS]

            slowloris = Slowloris(serve.port, SLOWLORIS)
            for key in streamers:
                for _ in range(STREAMS_PER_KEY):
                    streams.append(OpenStream(serve.port, key))
            assert [s.status for s in streams] == [200] * len(streams)
            assert all(s.first_line.startswith(b"data: ") for s in streams)
            wait_until(lambda: fake.streams_started == STREAM_KEYS * STREAMS_PER_KEY, what="every stream open")

            # One key over the cap: 429 in the envelope, while its four streams are open.
            over = OpenStream(serve.port, streamers[0])
            body = json.loads(over.finish())
            assert over.status == 429, body
            assert body["error"]["type"] == "rate_limit_error" and body["error"]["code"] == "too_many_streams"
            assert over.response.getheader("Retry-After") == "1"

            # Another user, meanwhile: health, a write, a list, stats.
            latencies = []
            for i in range(ROUNDS):
                latencies.append(timed("GET", f"{serve.url}/healthz", bob))
                latencies.append(timed("POST", f"{serve.url}/v1/memory", bob, {"content": f"fact {i}"}))
                latencies.append(timed("GET", f"{serve.url}/v1/memory?limit=10", bob))
                latencies.append(timed("GET", f"{serve.url}/v1/memory/stats", bob))
            statuses = {status for _, status in latencies}
            seconds = sorted(t for t, _ in latencies)
            p50, p95 = percentile(seconds, 0.5), percentile(seconds, 0.95)
            print(f"\nanother user's {len(seconds)} requests with {SLOWLORIS} slowloris connections and "
                  f"{len(streams)} open streams: p50 {p50 * 1000:.1f} ms, p95 {p95 * 1000:.1f} ms, "
                  f"max {seconds[-1] * 1000:.1f} ms")
            assert statuses == {200}, latencies
            assert p50 < ANSWER_WITHIN_SECONDS and p95 < ANSWER_WITHIN_SECONDS, seconds
            assert seconds[-1] < EVERY_ANSWER_WITHIN_SECONDS, seconds
            assert fake.streams_started == STREAM_KEYS * STREAMS_PER_KEY, "the slow streams are still open"

            # The provider finishes: every stream ends complete, and its slot is free again.
            fake.stream_gate.set()
            for s in streams:
                assert s.finish().rstrip().endswith(b"data: [DONE]")
            streams = []
            again = OpenStream(serve.port, streamers[0])
            assert again.status == 200 and again.finish().rstrip().endswith(b"data: [DONE]")
        finally:
            fake.stream_gate.set()
            if slowloris is not None:
                slowloris.close()
            for s in streams:
                s.conn.close()
            serve.stop()
