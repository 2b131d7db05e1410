"""What the chat proxy adds: a chat completion through memory-api vs straight to the provider.

    python bench/proxy_overhead.py [--memories 1000] [--rounds 400] [--embeddings local|off] [--spaces 2]
    python bench/proxy_overhead.py --profile [--rounds 200]     # where the proxy's time goes (cProfile)

Starts a private redis-server and an *instant* local provider (a tiny HTTP/1.1
keep-alive server that answers every chat completion with the same small,
precomputed answer, streamed or not), stores `--memories` memories for one user
(bench/common.py varied_sentences, embedded by the service's own model unless
`--embeddings off`), and starts `memory-api serve` (1 worker x 4 threads, the
default access log, default search mode: hybrid with embeddings, keyword
without) pointed at that provider. With `--spaces N`, alice is also a member of N
shared spaces of `--memories` memories each (other sentences), all injected by
default, so each chat ranks and fills from her own memories and the N spaces'.

Then one keep-alive client sends each round's chat request straight to the
provider and through /v1/chat/completions (which injects the user's memories
under the default caps), in alternating order so drift hits both sides alike,
`--rounds` times: non-streamed, timed to the last byte; and streamed, timed to
the first `data:` chunk. Every round asks a different realistic question, so
nothing cached from one query can help the next. It prints p50 / p90 / p99 of
each side and of the per-round difference (the proxy's own cost), and the CPU
time memory-api's processes used per chat (read from /proc: on a shared
machine it moves less with the neighbours' load than wall time does).

--profile runs the proxy path in this process instead (the app on the test
client, the same Redis, provider and memories) under cProfile, and prints the
functions with the most cumulative and own time.
"""

from __future__ import annotations

import argparse
import cProfile
import http.client
import io
import json
import os
import pstats
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from bench.common import PrivateRedis, free_port, varied_sentences  # noqa: E402

_ASKS = ("What should I cook for {person} when we meet in {place}?",
         "Remind me what {person} said about the trip to {place}.",
         "Which allergies should I mention when I book a table in {place} with {person}?",
         "Any plans with {person} I should prepare for before going to {place}?")
_PEOPLE = ("my sister Ana", "my manager Priya", "my cousin Luca", "my best friend Sam", "my neighbour",
           "my daughter Mia", "my running partner", "my colleague Jonas")
_PLACES = ("Lyon", "Berlin", "Osaka", "Lisbon", "Toronto", "Kyoto", "Porto", "Vienna", "Prague", "Austin")


def question(i: int) -> str:
    """The i-th question: a different one each round up to 320, so no cache of a query can flatter the proxy."""
    return _ASKS[i % 4].format(person=_PEOPLE[i // 4 % 8], place=_PLACES[i // 32 % 10]) + f" ({i})" * (i >= 320)
REPLY = "Here is a short answer from an instant provider."


def _completion_body(model: str) -> bytes:
    return json.dumps({
        "id": "chatcmpl-instant", "object": "chat.completion", "created": 0, "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": REPLY}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 10, "completion_tokens": 9, "total_tokens": 19},
    }).encode()


def _stream_body(model: str) -> bytes:
    base = {"id": "chatcmpl-instant", "object": "chat.completion.chunk", "created": 0, "model": model}
    chunks = [{**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]}]
    chunks += [{**base, "choices": [{"index": 0, "delta": {"content": w + " "}}]} for w in REPLY.split()]
    chunks.append({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
    return b"".join(f"data: {json.dumps(c)}\n\n".encode() for c in chunks) + b"data: [DONE]\n\n"


class InstantProvider:
    """An OpenAI-compatible chat endpoint that answers at once, with keep-alive (HTTP/1.1)."""

    def __init__(self) -> None:
        answers = {False: _completion_body("gpt-4o-mini"), True: _stream_body("gpt-4o-mini")}

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body are two writes: no delayed-ACK stall between them

            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                stream = b'"stream": true' in body or b'"stream":true' in body
                data = answers[stream]
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream" if stream else "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_port
        self.url = f"http://127.0.0.1:{self.port}/v1"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def seed_memories(settings, count: int, spaces: int = 0) -> str:
    """`count` memories for user alice, and `count` more in each of `spaces` shared spaces she is a member of
    (an admin, with inject on); returns alice's key."""
    from memory_api.services import Services

    services = Services.build(settings)
    try:
        key, _ = services.keys.create(user="alice")
        sentences = varied_sentences(count * (1 + spaces))
        owners = ["alice", *(services.spaces.create("alice", f"team {i}").owner for i in range(spaces))]
        for n, owner in enumerate(owners):
            mine = sentences[n * count:(n + 1) * count]
            for start in range(0, count, 100):
                services.memories.create_batch(owner, [{"content": s} for s in mine[start:start + 100]])
        return key
    finally:
        services.close()


class Caller:
    """One keep-alive connection; times a request to its last byte, or to the first streamed chunk."""

    def __init__(self, port: int, path: str, headers: dict[str, str]) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.conn.connect()
        self.conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.path = path
        self.headers = {"Content-Type": "application/json", **headers}

    def call(self, body: dict, *, stream: bool) -> float:
        data = json.dumps({**body, "stream": True} if stream else body)
        started = time.perf_counter()
        self.conn.request("POST", self.path, body=data, headers=self.headers)
        resp = self.conn.getresponse()
        if resp.status != 200:
            raise RuntimeError(f"{self.path}: {resp.status} {resp.read()[:300]!r}")
        if stream:
            first = resp.readline()
            while first and not first.startswith(b"data:"):
                first = resp.readline()
            elapsed = time.perf_counter() - started
        else:
            resp.read()
            return time.perf_counter() - started
        resp.read()  # drain the rest, so the connection can be reused
        return elapsed


def cpu_seconds(root_pid: int) -> float:
    """CPU time (user + system) used so far by a process and its children (gunicorn's master and workers)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(entry) == root_pid or int(fields[1]) == root_pid:  # fields[1]: the parent's pid
            total += (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
    return total


def percentiles(values: list[float]) -> tuple[float, float, float]:
    ordered = sorted(values)
    pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))]  # noqa: E731
    return statistics.median(ordered) * 1000, pick(0.90) * 1000, pick(0.99) * 1000


def measure(provider: InstantProvider, port: int, key: str, rounds: int, warmup: int, server_pid: int) -> None:
    direct = Caller(provider.port, "/v1/chat/completions", {"Authorization": "Bearer sk-upstream"})
    proxy = Caller(port, "/v1/chat/completions", {"Authorization": f"Bearer {key}"})
    for stream in (False, True):
        times: dict[str, list[float]] = {"direct": [], "proxy": []}
        diffs: list[float] = []
        cpu_before = 0.0
        for i in range(warmup + rounds):
            if i == warmup:
                cpu_before = cpu_seconds(server_pid)
            asked = question(i + stream * (warmup + rounds))
            body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": asked}]}
            order = (("direct", direct), ("proxy", proxy)) if i % 2 else (("proxy", proxy), ("direct", direct))
            got = {name: caller.call(body, stream=stream) for name, caller in order}
            if i >= warmup:
                for name in got:
                    times[name].append(got[name])
                diffs.append(got["proxy"] - got["direct"])
        cpu_ms = (cpu_seconds(server_pid) - cpu_before) / rounds * 1000
        label = "streamed, to the first chunk" if stream else "non-streamed, to the last byte"
        print(f"\n{label} ({rounds} rounds; memory-api used {cpu_ms:.2f} ms of CPU per chat)")
        print("| | p50 ms | p90 ms | p99 ms |\n|---|---:|---:|---:|")
        for name in ("direct", "proxy"):
            print("| {} | {:.2f} | {:.2f} | {:.2f} |".format(name, *percentiles(times[name])))
        print("| proxy - direct (per round) | {:.2f} | {:.2f} | {:.2f} |".format(*percentiles(diffs)))


def profile(settings, provider: InstantProvider, key: str, rounds: int) -> None:
    from memory_api import create_app

    app = create_app(settings)
    client = app.test_client()
    headers = {"Authorization": f"Bearer {key}"}

    def one(i: int, stream: bool) -> None:
        body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": question(i)}],
                "stream": stream}
        resp = client.post("/v1/chat/completions", json=body, headers=headers)
        resp.get_data()
        assert resp.status_code == 200, resp.data

    for i in range(20):
        one(i, i % 2 == 1)
    profiler = cProfile.Profile()
    started = time.perf_counter()
    profiler.enable()
    for i in range(rounds):
        one(i, i % 2 == 1)
    profiler.disable()
    print(f"{rounds} in-process chat requests (half streamed): {(time.perf_counter() - started) / rounds * 1000:.2f} "
          "ms each under the profiler")
    for order in ("cumulative", "tottime"):
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats(order).print_stats(35)
        print(out.getvalue())


def wait_healthy(port: int, proc: subprocess.Popen, log_path: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(open(log_path).read()[-3000:])
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("memory-api serve did not come up")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--memories", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=400)
    parser.add_argument("--warmup", type=int, default=40)
    parser.add_argument("--embeddings", choices=("local", "off"), default="local")
    parser.add_argument("--spaces", type=int, default=0, help="shared spaces alice is in, each of --memories")
    parser.add_argument("--profile", action="store_true", help="profile the proxy path in-process instead")
    args = parser.parse_args()

    from memory_api.config import Settings

    redis_server = PrivateRedis()
    provider = InstantProvider()
    workdir = tempfile.mkdtemp(prefix="bench-proxy-")
    env_settings = {"REDIS_URL": redis_server.url, "OPENAI_BASE_URL": provider.url, "OPENAI_API_KEY": "sk-upstream",
                    "MEMORY_API_EMBEDDINGS": args.embeddings, "MEMORY_API_DATA_DIR": workdir,
                    # the proxy's own cost: no capture worker beside it (capture is off for these chats anyway)
                    "MEMORY_API_CAPTURE_WORKERS": "0"}
    settings = Settings.from_env(env_settings)
    proc = None
    try:
        started = time.perf_counter()
        key = seed_memories(settings, args.memories, args.spaces)
        print(f"stored {args.memories} memories (and {args.spaces} spaces of as many) in "
              f"{time.perf_counter() - started:.1f} s "
              f"(Redis {redis_server.version()}, embeddings {args.embeddings})")
        if args.profile:
            profile(settings.replace(log_level="WARNING"), provider, key, args.rounds)
            return
        port = free_port()
        log_path = os.path.join(workdir, "serve.log")
        env = {k: v for k, v in os.environ.items() if not (k.startswith("MEMORY_API_") or k.startswith("OPENAI_"))}
        with open(log_path, "wb") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", "memory_api.cli", "serve", "--port", str(port), "--workers", "1",
                 "--threads", "4"],
                cwd=ROOT, env={**env, **env_settings}, stdout=log, stderr=log)
        wait_healthy(port, proc, log_path)
        measure(provider, port, key, args.rounds, args.warmup, proc.pid)
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(30)
        provider.stop()
        redis_server.stop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
