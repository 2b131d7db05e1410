"""What a hostile keyword search costs, with the search bounds and without them.

    python bench/hostile_search.py [--memories 5000] [--terms 200] [--queries 10]

One user stores --memories memories that each contain the same --terms words
(the worst case for postings: every query term occurs in every memory), then
searches for all those words at once through Services.search.search (keyword
mode, limit 20, in this process). "bounded" is the default
MEMORY_API_MAX_QUERY_TERMS and MEMORY_API_MAX_SEARCH_POSTINGS; "unbounded"
sets both beyond reach, as before they existed. It prints p50 / max of the
search, the postings it read, and how long Redis spent in the commands the
searches sent (INFO commandstats: time another user's request could wait).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench.common import PrivateRedis  # noqa: E402
from memory_api.config import Settings  # noqa: E402
from memory_api.services import Services  # noqa: E402
from memory_api.index.analyzer import query_terms  # noqa: E402

USER = "hostile"


def redis_busy_us(client) -> float:
    """Microseconds Redis has spent in commands so far."""
    return sum(float(stats["usec"]) for stats in client.info("commandstats").values())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--memories", type=int, default=5000)
    parser.add_argument("--terms", type=int, default=200)
    parser.add_argument("--queries", type=int, default=10)
    args = parser.parse_args()

    words = [f"w{i}x" for i in range(args.terms)]
    query = " ".join(words)
    redis_server = PrivateRedis()
    try:
        base = Settings(redis_url=redis_server.url, embeddings="off", search_mode="keyword",
                        log_level="WARNING", max_query_chars=10_000)
        loader = Services.build(base)
        for start in range(0, args.memories, 100):
            batch = [{"content": f"{query} n{i}"} for i in range(start, min(start + 100, args.memories))]
            loader.memories.create_batch(USER, batch)
        loader.close()
        terms = len(query_terms(query))
        print(f"redis {redis_server.version()}, {args.memories} memories each holding the same {terms} terms, "
              f"a query of those {terms} terms, {args.queries} searches per row, in-process, keyword mode")
        print(f"{'bounds':<10} {'terms read':>10} {'postings':>10} {'p50 ms':>9} {'max ms':>9} {'redis ms/search':>16}")
        for name, changes in (("bounded", {}),
                              ("unbounded", {"max_query_terms": 10**9, "max_search_postings": 10**12})):
            services = Services.build(base.replace(**changes))
            bounds = services.search.bounds
            read = min(terms, bounds.max_terms, max(1, bounds.max_postings // args.memories))
            times = []
            busy_before = redis_busy_us(redis_server.client)
            for _ in range(args.queries):
                started = time.perf_counter()
                services.search.search(USER, query, limit=20)
                times.append((time.perf_counter() - started) * 1000)
            busy = (redis_busy_us(redis_server.client) - busy_before) / 1000 / args.queries
            services.close()
            print(f"{name:<10} {read:>10} {read * args.memories:>10} {statistics.median(times):>9.1f} "
                  f"{max(times):>9.1f} {busy:>16.1f}")
    finally:
        redis_server.stop()


if __name__ == "__main__":
    main()
