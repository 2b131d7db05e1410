"""Search and injection-selection latency as one user's memories grow, per search mode.

    python bench/search_bench.py [--sizes 100,10000,100000] [--queries 200] [--pool 5000]
                                 [--modes keyword,semantic,hybrid]

Memories are 12-60 words drawn from a 30,000-word vocabulary with a Zipf
distribution (the 100 most frequent words left out, as stop words would be),
stored through the real write path (the same Lua script, search index and
vector set included) with MemoryStore.create_many in batches of 500. Queries
are two words drawn the same way from ranks 100-5,000; every mode runs the
same queries, interleaved query by query, through Services.search.search
(limit 20) in this process (no HTTP).

Vectors: embedding every stored memory with the real model would take ~5 ms
each (~8 minutes per 100,000), so a pool of --pool distinct natural sentences
(bench/common.py varied_sentences) is embedded once with the service's own
embedder, and each stored memory gets a random pool vector plus a little noise
(renormalised; cosine ~0.97 to its pool vector), so no two stored vectors are
equal. Stored vectors therefore do not match the stored text; that changes
which memories a semantic search returns, not what it costs. Queries are
embedded for real, at query time, by the service: semantic and hybrid latency
include it. It is also reported on its own ("embed"), and semantic and hybrid
are run a second time with the query vectors computed beforehand ("pre-embedded"),
which is the search without the embedding.

For each size it prints, per mode, p50/p95 of a search and the ratio to
keyword; p50/p95 of building the context block for a chat (default caps, the
query as the user's message) in keyword and hybrid mode; Redis bytes per memory
(INFO memory, every index included) and the vector set's share (MEMORY USAGE).
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

from bench.common import PrivateRedis, embedding_pool, pooled_vectors, varied_sentences  # noqa: E402
from memory_api.config import Settings  # noqa: E402
from memory_api.ids import new_memory_id  # noqa: E402
from memory_api.models import Memory  # noqa: E402
from memory_api.services import Services  # noqa: E402
from memory_api.store import keys  # noqa: E402
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


BATCH = 500


def fill(services: Services, user: str, count: int, vocab: Vocabulary, rnd: random.Random, pool=None) -> None:
    """Store `count` memories in batches (with a pooled vector each when `pool` is given)."""
    semantic = services.search.semantic
    store = MemoryStore(services.redis, vector_model=semantic.model)
    now = int(time.time())
    for start in range(0, count, BATCH):
        batch = []
        for _ in range(min(BATCH, count - start)):
            text = vocab.sentence(rnd)
            batch.append(Memory(new_memory_id(), text, {}, now, count_words(text), count_tokens(text), 1))
        vectors = pooled_vectors(pool, len(batch), rnd) if pool is not None else None
        store.create_many(user, batch, refuse_duplicates=False, embeddings=vectors)


def percentile(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(p / 100 * len(values)))]


class PreEmbedded:
    """The service's embedder, except that queries come from a table computed beforehand."""

    def __init__(self, embedder, table: dict) -> None:
        self._embedder, self._table = embedder, table

    @property
    def model(self) -> str:
        return self._embedder.model

    def embed_query(self, text: str):
        return self._table[text]


def timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return (time.perf_counter() - t) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="100,10000,100000")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--pool", type=int, default=5000, help="distinct sentences embedded for stored vectors")
    parser.add_argument("--modes", default="keyword,semantic,hybrid")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    vocab = Vocabulary()
    server = PrivateRedis()
    services = Services.build(Settings(redis_url=server.url))
    semantic = services.search.semantic
    reason = semantic.unavailable_reason()
    modes = [m for m in args.modes.split(",") if m == "keyword" or reason is None]
    if reason:
        print(f"semantic recall unavailable ({reason}): keyword only", file=sys.stderr)
    embedder = semantic._embedder  # the service's own (the bench swaps in pre-embedded queries below)
    pool = None
    if reason is None:
        pool, pool_s = embedding_pool(embedder, varied_sentences(args.pool))
        print(f"embedded a pool of {len(pool)} sentences in {pool_s:.0f}s", file=sys.stderr, flush=True)
    vector_modes = [m for m in modes if m != "keyword"]
    context_modes = [m for m in ("keyword", "hybrid") if m in modes]
    rows = []
    version = server.version()
    try:
        for size in sizes:
            server.client.flushall()
            before = server.used_memory()
            started = time.monotonic()
            fill(services, "bench", size, vocab, random.Random(size), pool)
            load_s = time.monotonic() - started
            per_memory = (server.used_memory() - before) / size
            vec_per_memory = (server.client.memory_usage(keys.memory_vectors("bench"), samples=0) or 0) / size
            rnd = random.Random(42)
            queries = [f"{vocab.pick(rnd, 100, 5000)} {vocab.pick(rnd, 100, 5000)}" for _ in range(args.queries)]
            for q in queries[:10]:  # warm up
                for mode in modes:
                    services.search.search("bench", q, limit=20, mode=mode)
            ms: dict[str, list[float]] = {m: [] for m in modes}
            ms.update({f"context {m}": [] for m in context_modes})
            hits = {m: 0 for m in modes}
            embed_ms, table = [], {}
            for q in queries:
                for mode in modes:
                    t = time.perf_counter()
                    found = services.search.search("bench", q, limit=20, mode=mode)
                    ms[mode].append((time.perf_counter() - t) * 1000)
                    hits[mode] += bool(found.items)
                for mode in context_modes:
                    ms[f"context {mode}"].append(timed(lambda q=q, mode=mode: services.context.build(
                        "bench", query=q, mode=mode)))
                if vector_modes:
                    t = time.perf_counter()
                    table[q] = embedder.embed_query(q)
                    embed_ms.append((time.perf_counter() - t) * 1000)
            if vector_modes:  # the same searches with the query vectors ready: the search without embedding
                semantic._embedder = PreEmbedded(embedder, table)
                try:
                    for mode in vector_modes:
                        ms[f"{mode} pre-embedded"] = []
                    for q in queries:
                        for mode in vector_modes:
                            ms[f"{mode} pre-embedded"].append(
                                timed(lambda q=q, mode=mode: services.search.search("bench", q, limit=20, mode=mode)))
                finally:
                    semantic._embedder = embedder
                ms["embed (query only)"] = embed_ms
            rows.append((size, load_s, per_memory, vec_per_memory, ms, hits))
            print(f"loaded {size} memories in {load_s:.0f}s", file=sys.stderr, flush=True)
    finally:
        services.close()
        server.stop()
    print(f"redis {version}, {args.queries} two-word queries per size, one client, in-process "
          f"(Services.search.search, limit 20), a private redis-server")
    if pool is not None:
        print(f"stored vectors: a pool of {len(pool)} embedded sentences reused (+noise); queries embedded "
              f"for real at query time by {embedder.model}")
    print(f"{'memories':>10} {'load s':>7} {'bytes/mem':>10} {'of which vectors':>17}")
    for size, load_s, per_memory, vec_per_memory, _, _ in rows:
        print(f"{size:>10} {load_s:>7.0f} {per_memory:>10.0f} {vec_per_memory:>17.0f}")
    print()
    print(f"{'memories':>10} {'what':<24} {'p50 ms':>8} {'p95 ms':>8} {'p50 vs keyword':>15} "
          f"{'p50 vs 100':>11} {'queries with hits':>18}")
    base = rows[0][4]
    for size, _, _, _, ms, hits in rows:
        for name, values in ms.items():
            p50 = statistics.median(values)
            kw = statistics.median(ms["keyword"]) if "keyword" in ms else None
            ctx_kw = statistics.median(ms["context keyword"]) if "context keyword" in ms else None
            ref = ctx_kw if name.startswith("context") else kw
            ratio = f"{p50 / ref:.2f}x" if ref and name not in ("keyword", "context keyword") else ""
            grow = f"{p50 / statistics.median(base[name]):.1f}x" if name in base else ""
            hit = f"{hits[name] / len(values):.0%}" if name in hits else ""
            print(f"{size:>10} {name:<24} {p50:>8.2f} {percentile(values, 95):>8.2f} {ratio:>15} "
                  f"{grow:>11} {hit:>18}")


if __name__ == "__main__":
    main()
