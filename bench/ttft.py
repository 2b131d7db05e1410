"""Time to first token through the proxy against straight at the provider, for chat and responses.

    python bench/ttft.py [--requests 200] [--memories 50] [--embeddings off]

One run starts a private redis-server, the provider stand-in of the tests
(tests/fake_llm.py, in its own process; it streams at once, no model delay),
and our service (`memory-api serve`, 1 worker x 4 threads) pointed at it. The
user has `--memories` memories, so each proxied request also selects and
injects the memory block (keyword ranking with `--embeddings off`, the
default here; `local` adds the embedding of the query). Then, alternating
direct and proxied so drift hits both alike, it sends `--requests` streamed
requests of each kind, one at a time, and times each from sending the request
to the first text delta (chat: the first `choices[0].delta.content` that is
not empty; responses: the first `response.output_text.delta` event), and to
the end of the stream. Prints median, p90 and mean per target and the
proxy's extra time at the median.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import time

import httpx

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from bench.common import PrivateRedis, free_port, sample_content, wait_for_http  # noqa: E402

FAKE_PROVIDER = """
import sys, threading
sys.path.insert(0, {tests!r})
from fake_llm import FakeLLM
fake = FakeLLM()
fake.reply_words = 40
with fake:
    print(fake.url, flush=True)
    threading.Event().wait()
"""


def first_delta_chat(data: dict) -> bool:
    choices = data.get("choices") or []
    return bool(choices and (choices[0].get("delta") or {}).get("content"))


def first_delta_responses(data: dict) -> bool:
    return data.get("type") == "response.output_text.delta"


def timed_stream(http: httpx.Client, url: str, key: str, body: dict, is_first_delta) -> tuple[float, float]:
    """(ms to the first text delta, ms to the end of the stream) of one streamed request."""
    started = time.perf_counter()
    first = None
    with http.stream("POST", url, json=body, headers={"Authorization": f"Bearer {key}"}) as resp:
        resp.raise_for_status()
        for line in resp.iter_lines():
            if first is None and line.startswith("data: ") and line != "data: [DONE]":
                if is_first_delta(json.loads(line[6:])):
                    first = time.perf_counter()
    ended = time.perf_counter()
    return (first - started) * 1000, (ended - started) * 1000


def summary(values: list[float]) -> dict:
    ordered = sorted(values)
    return {"p50": statistics.median(ordered), "p90": ordered[int(len(ordered) * 0.9) - 1],
            "mean": statistics.fmean(ordered)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200, help="streamed requests per target and kind")
    parser.add_argument("--memories", type=int, default=50, help="memories of the user (injected by the proxy)")
    parser.add_argument("--embeddings", default="off", choices=("off", "local"))
    args = parser.parse_args()

    from memory_api.config import Settings
    from memory_api.services import Services

    redis = PrivateRedis()
    procs: list[subprocess.Popen] = []
    try:
        fake = subprocess.Popen([sys.executable, "-c", FAKE_PROVIDER.format(tests=os.path.join(ROOT, "tests"))],
                                stdout=subprocess.PIPE, text=True)
        procs.append(fake)
        provider = fake.stdout.readline().strip()
        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("MEMORY_API_")}
        env.update(REDIS_URL=redis.url, OPENAI_BASE_URL=provider, OPENAI_API_KEY="sk-bench",
                   MEMORY_API_EMBEDDINGS=args.embeddings, MEMORY_API_ACCESS_LOG="false",
                   MEMORY_API_LOG_LEVEL="WARNING")
        procs.append(subprocess.Popen([sys.executable, "-m", "memory_api.cli", "serve", "--port", str(port),
                                       "--workers", "1", "--threads", "4"], env=env, cwd=ROOT,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        ours = f"http://127.0.0.1:{port}/v1"
        wait_for_http(f"http://127.0.0.1:{port}/healthz")

        services = Services.build(Settings(redis_url=redis.url, embeddings=args.embeddings))
        key, _ = services.keys.create(user="bench")
        rnd = random.Random(1)
        for _ in range(args.memories):
            services.memories.create("bench", sample_content(rnd))
        services.close()

        question = "What do I prefer for morning meetings and which book should I travel with?"
        kinds = {
            "chat": ("/chat/completions", {"model": "gpt-4o-mini", "stream": True,
                                           "messages": [{"role": "user", "content": question}]},
                     first_delta_chat),
            "responses": ("/responses", {"model": "gpt-4o-mini", "stream": True, "input": question},
                          first_delta_responses),
        }
        targets = {"direct": (provider, "sk-bench"), "proxy": (ours, key)}
        results: dict[tuple[str, str], list[tuple[float, float]]] = {}
        with httpx.Client(timeout=30) as http:
            for kind, (path, body, is_first) in kinds.items():
                for target, (base, k) in targets.items():  # warm-up: connections, caches, the encoder
                    for _ in range(10):
                        timed_stream(http, base + path, k, body, is_first)
                for _ in range(args.requests):
                    for target, (base, k) in targets.items():
                        results.setdefault((kind, target), []).append(
                            timed_stream(http, base + path, k, body, is_first))

        print(f"{args.requests} streamed requests per row, one at a time; user with {args.memories} memories; "
              f"embeddings {args.embeddings}\n")
        print("| kind | target | TTFT p50 ms | TTFT p90 ms | TTFT mean ms | whole stream p50 ms |")
        print("|---|---|---:|---:|---:|---:|")
        for (kind, target), samples in results.items():
            ttft = summary([s[0] for s in samples])
            total = summary([s[1] for s in samples])
            print(f"| {kind} | {target} | {ttft['p50']:.1f} | {ttft['p90']:.1f} | {ttft['mean']:.1f} | "
                  f"{total['p50']:.1f} |")
        print()
        for kind in kinds:
            extra = (summary([s[0] for s in results[(kind, "proxy")]])["p50"]
                     - summary([s[0] for s in results[(kind, "direct")]])["p50"])
            print(f"{kind}: the proxy adds {extra:.1f} ms to the median time to first token")
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(30)
        redis.stop()


if __name__ == "__main__":
    main()
