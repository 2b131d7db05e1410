"""What adding one vector costs a write, by HNSW build effort (VADD ... EF), and what it does to recall.

    python bench/vector_insert.py [--count 20000] [--pool 2000]

Vectors are the service's own (a pool of natural sentences embedded by the offline
default, bench/common.py, each stored vector a pool vector plus a little noise).
Per EF: --count vectors loaded into a fresh set (Q8, M 16, as the write scripts
store them), then 400 more added one at a time, timed (p50 of VADD), then
recall@10 of VSIM against exact cosine over 200 noisy queries. The write
scripts use EF 100 (store/memory_lua_prelude.py `put_vector`).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench.common import PrivateRedis, embedding_pool, pooled_vectors, varied_sentences  # noqa: E402
from memory_api.config import Settings  # noqa: E402
from memory_api.embeddings import build_embedder  # noqa: E402

TIMED = 400


def load(client, key: str, vectors: list[bytes], ef: int | None) -> None:
    pipe = client.pipeline(transaction=False)
    for i, vector in enumerate(vectors):
        pipe.execute_command("VADD", key, "FP32", vector, str(i), "Q8", *(("EF", ef) if ef else ()))
        if i % 1000 == 999:
            pipe.execute()
    pipe.execute()


def recall_at_10(client, key: str, matrix: np.ndarray) -> float:
    """The same 200 queries for every set."""
    rnd, found = random.Random(5), 0
    for q in range(200):
        query = matrix[rnd.randrange(len(matrix))] + np.random.default_rng(q).normal(0, 0.02, matrix.shape[1])
        query = (query / np.linalg.norm(query)).astype(np.float32)
        exact = set(np.argsort(-(matrix @ query))[:10].tolist())
        got = client.execute_command("VSIM", key, "FP32", query.tobytes(), "COUNT", 10)
        found += len(exact & {int(name) for name in got})
    return found / 2000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=20_000)
    parser.add_argument("--pool", type=int, default=2000)
    args = parser.parse_args()
    embedder = build_embedder(Settings())
    pool, _ = embedding_pool(embedder, varied_sentences(args.pool))
    rnd = random.Random(3)
    vectors = pooled_vectors(pool, args.count + TIMED, rnd)
    matrix = np.stack([np.frombuffer(v, dtype=np.float32) for v in vectors])
    server = PrivateRedis()
    print(f"redis {server.version()}, {args.count} vectors of {embedder.model} (a pool of {len(pool)} sentences "
          f"+ noise), Q8, M 16; {TIMED} VADDs timed one by one")
    for ef in (None, 100, 50):
        key = f"bench:ef:{ef or 'default'}"
        load(server.client, key, vectors[:args.count], ef)
        times = []
        for i in range(args.count, args.count + TIMED):
            started = time.perf_counter()
            server.client.execute_command("VADD", key, "FP32", vectors[i], str(i), "Q8", *(("EF", ef) if ef else ()))
            times.append(time.perf_counter() - started)
        label = f"EF {ef}" if ef else "EF 200 (default)"
        print(f"  {label:<17} VADD p50 {statistics.median(times) * 1000:.3f} ms  "
              f"recall@10 {recall_at_10(server.client, key, matrix):.1%}")
        server.client.delete(key)
    server.stop()


if __name__ == "__main__":
    main()
