"""Automatic capture's cost: what it adds to a chat answer, and how many jobs one worker does a second.

    python bench/capture_bench.py [--rounds 400] [--jobs 300] [--embeddings local|off]

Starts a private redis-server and an *instant* local provider (it answers a chat
at once, and an extraction request with one new fact taken from the turn), and
builds the service in this process (no HTTP server: the figures are the
service's own work, through the Flask test client).

1. Added latency: `--rounds` chat completions with `memory.capture` true and
   false, alternating, for one user with 200 memories; p50 / p90 of each and of
   the queue push alone (CaptureJobs.enqueue). Capture happens after the
   answer, so what a chat pays for it is the push.
2. Throughput: `--jobs` turns are queued, then 1 and then 2 worker threads
   (CaptureWorkers, as `memory-api worker` runs them) work the queue until it is
   empty; jobs per second, each job being: ask the provider (instant here),
   find the candidates (search in the default mode), apply (one memory added).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench.common import PrivateRedis, varied_sentences  # noqa: E402
from memory_api import create_app  # noqa: E402
from memory_api.config import Settings  # noqa: E402
from memory_api.services import Services  # noqa: E402
from memory_api.services.capture import EXTRACTION_MARK  # noqa: E402
from memory_api.services.capture_jobs import CaptureWorkers, TurnToCapture  # noqa: E402


class InstantProvider:
    """Answers chat completions at once; an extraction request gets one `add` of the turn's first line."""

    def __init__(self) -> None:
        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def setup(self):
                super().setup()
                # Headers and body go out in two writes: without this, Nagle's algorithm meets the client's
                # delayed ACK and every answer waits 40 ms.
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                messages = body["messages"]
                if str(messages[0].get("content", "")).startswith(EXTRACTION_MARK):
                    turn = messages[1]["content"].split("Conversation:\n", 1)[1].splitlines()[0]
                    content = json.dumps({"operations": [{"action": "add", "memory_id": None, "reason": "stated",
                                                          "content": turn.removeprefix("user: ")[:200]}]})
                else:
                    content = "Sure."
                payload = json.dumps({"id": "c", "object": "chat.completion", "created": 0, "model": body["model"],
                                      "choices": [{"index": 0, "finish_reason": "stop",
                                                   "message": {"role": "assistant", "content": content}}],
                                      "usage": {"prompt_tokens": 50, "completion_tokens": 20, "total_tokens": 70}})
                data = payload.encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_port}/v1"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[q - 1] if len(values) > 1 else values[0]


def added_latency(services: Services, rounds: int) -> None:
    client = create_app(services.settings, services).test_client()
    key, _ = services.keys.create(user="bench")
    headers = {"Authorization": f"Bearer {key}"}
    for sentence in varied_sentences(200):
        services.memories.create("bench", sentence)
    timings: dict[bool, list[float]] = {True: [], False: []}
    for i in range(rounds + 20):
        for capture in ((True, False) if i % 2 else (False, True)):
            body = {"model": "m", "messages": [{"role": "user", "content": f"I have {i} plants at home, any tips?"}],
                    "memory": {"capture": capture}}
            started = time.perf_counter()
            resp = client.post("/v1/chat/completions", json=body, headers=headers)
            elapsed = (time.perf_counter() - started) * 1000
            assert resp.status_code == 200, resp.get_json()
            if i >= 20:
                timings[capture].append(elapsed)
    pushes = []
    jobs = services.capture_jobs
    for i in range(rounds):
        turn = TurnToCapture("bench", [{"role": "user", "content": f"note {i}"}], None, None, None)
        started = time.perf_counter()
        jobs.enqueue(jobs.new_id(), turn)
        pushes.append((time.perf_counter() - started) * 1000)
    print(f"\nadded latency ({rounds} rounds each, one user with 200 memories, in-process, instant provider)")
    print("| | p50 ms | p90 ms |\n|---|---:|---:|")
    for name, values in (("chat, capture off", timings[False]), ("chat, capture on", timings[True]),
                         ("the queue push alone", pushes)):
        print(f"| {name} | {statistics.median(values):.3f} | {pct(values, 90):.3f} |")
    diff = [on - off for on, off in zip(timings[True], timings[False])]
    print(f"| capture on - off, per round | {statistics.median(diff):.3f} | {pct(diff, 90):.3f} |")
    # The pushes above are jobs too: leave them out of the throughput run.
    services.redis.client.delete("ma1:capture:queue")


def throughput(services: Services, jobs: int, threads: int) -> None:
    user = f"tp{threads}"
    for sentence in varied_sentences(200):
        services.memories.create(user, sentence)
    queue = services.capture_jobs
    for i in range(jobs):
        text = f"My favourite number is {i} and I keep {i % 7} cacti on the balcony."
        queue.enqueue(queue.new_id(), TurnToCapture(user, [{"role": "user", "content": text},
                                                           {"role": "assistant", "content": "Nice!"}], None, None,
                                                    None))
    started = time.perf_counter()
    workers = CaptureWorkers(queue, name=f"bench{threads}", threads=threads).start()
    while queue.backlog() > 0:
        time.sleep(0.05)
    elapsed = time.perf_counter() - started
    workers.stop()
    added = services.memories.store.count(user) - 200
    print(f"| {threads} | {jobs} | {elapsed:.1f} | {jobs / elapsed:.0f} | {added} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=400)
    parser.add_argument("--jobs", type=int, default=300)
    parser.add_argument("--embeddings", choices=("local", "off"), default="local")
    args = parser.parse_args()
    redis_server, provider = PrivateRedis(), InstantProvider()
    settings = Settings(redis_url=redis_server.url, openai_base_url=provider.url, openai_api_key="sk-bench",
                        embeddings=args.embeddings, access_log=False)
    services = Services.build(settings)
    try:
        caps = services.capabilities()
        print(f"Redis {caps['redis_version']}, recall: {caps['default_search_mode']} "
              f"(embedding model {caps['embedding_model']}), {os.cpu_count()} CPUs")
        added_latency(services, args.rounds)
        print(f"\nthroughput ({args.jobs} jobs; each adds one memory to a user with 200)")
        print("| worker threads | jobs | seconds | jobs/s | memories added |\n|---:|---:|---:|---:|---:|")
        for threads in (1, 2):
            throughput(services, args.jobs, threads)
    finally:
        services.close()
        provider.stop()
        redis_server.stop()


if __name__ == "__main__":
    main()
