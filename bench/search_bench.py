"""Search and injection-selection latency as one user's memories grow: 100, 10,000, 1,000,000.

    python bench/search_bench.py [--sizes 100,10000,1000000] [--queries 200]

Memories are 12-60 words drawn from a 30,000-word vocabulary with a Zipf
distribution (the 100 most frequent words left out, as stop words would be),
stored through the real write path (the same Lua script, search index
included). Queries are two words drawn the same way from ranks 100-5,000. For
each size it prints p50/p95 of a search (limit 20) and of building the
context block for a chat (default caps, the query as the user's message), as
ratios to the 100-memory case, and Redis bytes per memory (INFO memory,
search index included).
"""

from __future__ import annotations

import argparse
import bisect
import itertools
import os
import random
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench.common import PrivateRedis  # noqa: E402
from memory_api.config import Settings  # noqa: E402
from memory_api.ids import new_memory_id  # noqa: E402
from memory_api.services.memories import indexed  # noqa: E402
from memory_api.models import Memory  # noqa: E402
from memory_api.services import Services  # noqa: E402
from memory_api.store.memories import MemoryStore  # noqa: E402
from memory_api.tokens import count_tokens, count_words  # noqa: E402

SYLLABLES = "ka lo mi ne ru sa to vi de pa zu fe ri mo la ne ko ti su ba".split()


class Vocabulary:
    def __init__(self, size: int = 30_000, skip: int = 100, seed: int = 5) -> None:
        rnd = random.Random(seed)
        words = set()
        while len(words) < size:
            words.add("".join(rnd.choice(SYLLABLES) for _ in range(rnd.randint(2, 4))))
        self.words = sorted(words)
        rnd.shuffle(self.words)
        weights = [1 / rank for rank in range(1, size + 1)]
        self.cumulative = list(itertools.accumulate(weights))
        self.skip = skip

    def pick(self, rnd: random.Random, low: int | None = None, high: int | None = None) -> str:
        low = self.skip if low is None else low
        high = len(self.words) if high is None else high
        total_low = self.cumulative[low - 1] if low else 0
        x = total_low + rnd.random() * (self.cumulative[high - 1] - total_low)
        return self.words[bisect.bisect_left(self.cumulative, x)]

    def sentence(self, rnd: random.Random) -> str:
        return " ".join(self.pick(rnd) for _ in range(rnd.randint(12, 60)))


def fill(services: Services, user: str, count: int, vocab: Vocabulary, rnd: random.Random) -> None:
    store = MemoryStore(services.redis)
    now = int(time.time())
    for start in range(0, count, 1000):
        batch = []
        for _ in range(min(1000, count - start)):
            text = vocab.sentence(rnd)
            batch.append((Memory(new_memory_id(), text, {}, now, count_words(text), count_tokens(text), 1),
                          indexed(text)))
        store.create_many(user, batch, return_duplicates=False)


def percentile(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(p / 100 * len(values)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="100,10000,1000000")
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    vocab = Vocabulary()
    server = PrivateRedis()
    services = Services.build(Settings(redis_url=server.url))
    rows = []
    try:
        for size in sizes:
            server.client.flushall()
            before = server.used_memory()
            started = time.monotonic()
            fill(services, "bench", size, vocab, random.Random(size))
            load_s = time.monotonic() - started
            per_memory = (server.used_memory() - before) / size
            rnd = random.Random(42)
            queries = [f"{vocab.pick(rnd, 100, 5000)} {vocab.pick(rnd, 100, 5000)}" for _ in range(args.queries)]
            for q in queries[:10]:  # warm up
                services.search.search("bench", q, limit=20)
            search_ms, context_ms, hits = [], [], 0
            for q in queries:
                t = time.perf_counter()
                found = services.search.search("bench", q, limit=20)
                search_ms.append((time.perf_counter() - t) * 1000)
                hits += bool(found.items)
                t = time.perf_counter()
                services.context.build("bench", query=q)
                context_ms.append((time.perf_counter() - t) * 1000)
            rows.append((size, load_s, per_memory, statistics.median(search_ms), percentile(search_ms, 95),
                         statistics.median(context_ms), percentile(context_ms, 95), hits / len(queries)))
            print(f"loaded {size} memories in {load_s:.0f}s", file=sys.stderr, flush=True)
    finally:
        services.close()
        server.stop()
    base = rows[0]
    print(f"{args.queries} two-word queries per size, one client, a private redis-server")
    print(f"{'memories':>10} {'bytes/mem':>10} {'search p50 ms':>14} {'p95':>7} {'x100':>6} "
          f"{'context p50 ms':>15} {'p95':>7} {'x100':>6} {'queries with hits':>18}")
    for size, _, per_memory, s50, s95, c50, c95, hit_rate in rows:
        print(f"{size:>10} {per_memory:>10.0f} {s50:>14.2f} {s95:>7.2f} {s50 / base[3]:>6.1f} "
              f"{c50:>15.2f} {c95:>7.2f} {c50 / base[5]:>6.1f} {hit_rate:>17.0%}")


if __name__ == "__main__":
    main()
