"""Redis bytes per memory: the layout choice for records, and the whole footprint with every index.

    python bench/footprint.py [--count 100000] [--pool 5000] [--variants 20000]

1. Records and their id index, in three layouts, from the same records (INFO memory deltas):
     user-hash   one HASH per user, field = memory id, value = compact JSON   (what we use)
     key-string  one STRING key per memory holding the compact JSON
     key-hash    one HASH key per memory, one field per attribute
   each with the same per-user ZSET of ids for ordering.
2. The real write path (the CREATE_MEMORIES Lua script every service create runs: record,
   id/scope/updated indexes, search index, duplicate map, counters, and the vector set when
   semantic recall is on), called through MemoryStore.create_many in batches of 500. Total
   per memory (INFO used_memory delta), split by key family (MEMORY USAGE), and split into
   the keyword side and the vector side (used_memory before and after deleting the user's
   vector set).
   Vectors: embedding every memory with the real model (~5 ms each) would take ~8 minutes
   per 100,000, so a pool of --pool distinct sentences is embedded once with the service's
   embedder and each memory gets a random pool vector plus a little noise (renormalised).
   A vector set's size does not depend on what the vectors say (Q8: one byte per dimension,
   plus the HNSW graph's links), so the bytes are those of real embeddings.
3. What other vector-set settings would cost (not what the service uses: it stores Q8 with
   the default M), on --variants of the same vectors in scratch keys: bytes per vector and
   recall@10 of VSIM against exact cosine, for 200 pool-like query vectors.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import random
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench.common import PrivateRedis, embedding_pool, pooled_vectors, sample_content, varied_sentences  # noqa: E402,E501
from memory_api.config import Settings  # noqa: E402
from memory_api.ids import new_memory_id  # noqa: E402
from memory_api.models import Memory  # noqa: E402
from memory_api.services import Services  # noqa: E402
from memory_api.store.memories import MemoryStore  # noqa: E402
from memory_api.tokens import count_tokens, count_words  # noqa: E402
from memory_api.store import keys  # noqa: E402


def measure(server: PrivateRedis, fill) -> float:
    server.client.flushall()
    before = server.used_memory()
    count = fill()
    return (server.used_memory() - before) / count


def family(name: str, prefix: str) -> str:
    rest = name[len(prefix):]
    if name == keys.memory_vectors("bench"):
        return "vector set (vec)"
    for suffix, label in ((keys.TERM_SUFFIX, "search postings (t:*)"), (keys.TAG_SUFFIX, "tag indexes"),
                          (keys.SCOPE_SUFFIX, "scope indexes"), (keys.HISTORY_SUFFIX, "history")):
        if rest.startswith(suffix):
            return label
    return rest


def settled_used_memory(server: PrivateRedis) -> int:
    """used_memory once no lazily freed object is pending."""
    for _ in range(500):
        if int(server.client.info("memory").get("lazyfree_pending_objects", 0)) == 0:
            break
        time.sleep(0.02)
    return server.used_memory()


def vector_variants(server: PrivateRedis, vectors: list[bytes], rnd: random.Random, pool) -> list[tuple]:
    """(label, bytes per vector, recall@10) for the same vectors under other VADD settings."""
    import numpy as np

    client = server.client
    matrix = np.frombuffer(b"".join(vectors), dtype="<f4").reshape(len(vectors), -1)
    queries = np.frombuffer(b"".join(pooled_vectors(pool, 200, rnd, noise=0.5)), dtype="<f4").reshape(200, -1)
    truth = [set(np.argsort(-(matrix @ q))[:10].tolist()) for q in queries]
    out = []
    for label, options in (("Q8, M 16 (the service's)", ["Q8"]), ("Q8, M 8", ["Q8", "M", 8]),
                           ("Q8, M 4", ["Q8", "M", 4]), ("NOQUANT (FP32), M 16", ["NOQUANT"]),
                           ("BIN, M 16", ["BIN"]), ("Q8, REDUCE 128, M 16", ["Q8"])):
        key = "scratch:vec"
        client.delete(key)
        reduce = ["REDUCE", 128] if "REDUCE" in label else []
        pipe = client.pipeline(transaction=False)
        for i, blob in enumerate(vectors):
            pipe.execute_command("VADD", key, *reduce, "FP32", blob, str(i), *options)
            if i % 1000 == 999:
                pipe.execute()
        pipe.execute()
        used = client.memory_usage(key, samples=0) or 0
        found = 0
        for q, want in zip(queries, truth):
            reply = client.execute_command("VSIM", key, "FP32", q.astype("<f4").tobytes(), "COUNT", 10)
            found += len(want & {int(x) for x in reply})
        out.append((label, used / len(vectors), found / (10 * len(queries))))
        client.delete(key)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--pool", type=int, default=5000, help="distinct sentences embedded for stored vectors")
    parser.add_argument("--variants", type=int, default=20_000, help="vectors per vector-set variant (0: skip)")
    args = parser.parse_args()
    server = PrivateRedis()
    services = Services.build(Settings(redis_url=server.url))
    semantic = services.search.semantic
    reason = semantic.unavailable_reason()
    rnd = random.Random(7)
    contents = [f"{sample_content(rnd)} ({i})" for i in range(args.count)]
    avg_chars = sum(map(len, contents)) / len(contents)
    pool, vectors = None, None
    if reason is None:
        pool, pool_s = embedding_pool(semantic._embedder, varied_sentences(args.pool))
        print(f"embedded a pool of {len(pool)} sentences in {pool_s:.0f}s", file=sys.stderr, flush=True)
        vectors = pooled_vectors(pool, args.count, rnd)
    store = MemoryStore(services.redis, vector_model=semantic.model)
    now = int(time.time())

    def full_write_path() -> int:
        for start in range(0, args.count, 500):
            part = contents[start:start + 500]
            batch = [Memory(new_memory_id(), text, {"source": "chat"}, now, count_words(text), count_tokens(text), 1)
                     for text in part]
            store.create_many("bench", batch, refuse_duplicates=False,
                              embeddings=vectors[start:start + 500] if vectors else None)
        return args.count

    started = time.monotonic()
    full = measure(server, full_write_path)
    load_s = time.monotonic() - started
    client = server.client
    prefix = keys.memory_items("bench").rsplit(":", 1)[0] + ":"  # the user's key prefix
    by_family: collections.Counter = collections.Counter()
    for name in client.scan_iter(match=prefix + "*", count=1000):
        by_family[family(name.decode(), prefix)] += client.memory_usage(name, samples=0) or 0
    vinfo = client.execute_command("VINFO", keys.memory_vectors("bench")) if reason is None else None
    with_vectors = settled_used_memory(server)
    client.delete(keys.memory_vectors("bench"))
    vector_side = (with_vectors - settled_used_memory(server)) / args.count
    records = [(k.decode(), v.decode()) for k, v in client.hgetall(keys.memory_items("bench")).items()]

    def user_hash() -> int:
        pipe = client.pipeline(transaction=False)
        for mem_id, raw in records:
            pipe.hset(keys.memory_items("bench"), mem_id, raw)
            pipe.zadd(keys.memory_ids("bench"), {mem_id: 0})
        pipe.execute()
        return len(records)

    def key_string() -> int:
        pipe = client.pipeline(transaction=False)
        for mem_id, raw in records:
            pipe.set(f"{prefix}m:{mem_id}", raw)
            pipe.zadd(keys.memory_ids("bench"), {mem_id: 0})
        pipe.execute()
        return len(records)

    def key_hash() -> int:
        pipe = client.pipeline(transaction=False)
        for mem_id, raw in records:
            rec = json.loads(raw)
            rec["m"] = json.dumps(rec["m"])
            pipe.hset(f"{prefix}m:{mem_id}", mapping={k: v for k, v in rec.items() if not isinstance(v, list)})
            pipe.zadd(keys.memory_ids("bench"), {mem_id: 0})
        pipe.execute()
        return len(records)

    layouts = {"user-hash": measure(server, user_hash), "key-string": measure(server, key_string),
               "key-hash": measure(server, key_hash)}
    variants = vector_variants(server, vectors[:args.variants], random.Random(3), pool) \
        if vectors and args.variants else []
    print(f"redis {server.version()}, {args.count} memories of one user, average content {avg_chars:.0f} characters"
          f" (loaded in {load_s:.0f}s)")
    if vectors:
        print(f"vectors: {semantic.model()}, a pool of {len(pool)} embedded sentences reused (+noise); "
              f"vector set {({k.decode(): v.decode() if isinstance(v, bytes) else v for k, v in vinfo.items()})}")
    else:
        print(f"no vectors: {reason}")
    print("records and id index, by layout:")
    for name, per in layouts.items():
        print(f"  {name:<11} {per:8.1f} bytes per memory  ({per - avg_chars:6.1f} beyond the content)")
    print(f"the whole write path (every index included): {full:.1f} bytes per memory, of which:")
    total = sum(by_family.values())
    for name, used in by_family.most_common():
        print(f"  {name:<24} {used / args.count:8.1f}  ({used / total:5.1%})")
    print(f"keyword side (all but the vector set, INFO): {full - vector_side:.1f} bytes per memory")
    print(f"vector side (used_memory freed by deleting the vector set): {vector_side:.1f} bytes per memory")
    if variants:
        print(f"other vector-set settings, {args.variants} of the same vectors in a scratch key "
              "(MEMORY USAGE; recall@10 of VSIM against exact cosine, 200 queries):")
        for label, per, recall in variants:
            print(f"  {label:<26} {per:8.1f} bytes per vector   recall@10 {recall:6.1%}")
    services.close()
    server.stop()


if __name__ == "__main__":
    main()
