"""Redis bytes per memory: the layout choice for records, and the whole footprint with every index.

    python bench/footprint.py [--count 20000]

1. Records and their id index, in three layouts, from the same records (INFO memory deltas):
     user-hash   one HASH per user, field = memory id, value = compact JSON   (what we use)
     key-string  one STRING key per memory holding the compact JSON
     key-hash    one HASH key per memory, one field per attribute
   each with the same per-user ZSET of ids for ordering.
2. The real write path (service create: record, id/scope/updated indexes, search index,
   duplicate map, counters), total per memory and split by key family (MEMORY USAGE).
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench.common import PrivateRedis, sample_content  # noqa: E402
from memory_api.config import Settings  # noqa: E402
from memory_api.services import Services  # noqa: E402
from memory_api.store import keys  # noqa: E402


def measure(server: PrivateRedis, fill) -> float:
    server.client.flushall()
    before = server.used_memory()
    count = fill()
    return (server.used_memory() - before) / count


def family(name: str, prefix: str) -> str:
    rest = name[len(prefix):]
    for suffix, label in ((keys.TERM_SUFFIX, "search postings (t:*)"), (keys.TAG_SUFFIX, "tag indexes"),
                          (keys.SCOPE_SUFFIX, "scope indexes"), (keys.HISTORY_SUFFIX, "history")):
        if rest.startswith(suffix):
            return label
    return rest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=20_000)
    args = parser.parse_args()
    server = PrivateRedis()
    services = Services.build(Settings(redis_url=server.url))
    rnd = random.Random(7)
    contents = [f"{sample_content(rnd)} ({i})" for i in range(args.count)]
    avg_chars = sum(map(len, contents)) / len(contents)

    def full_write_path() -> int:
        for text in contents:
            services.memories.create("bench", text, {"source": "chat"})
        return args.count

    full = measure(server, full_write_path)
    client = server.client
    prefix = keys.user_prefix("bench")
    by_family: collections.Counter = collections.Counter()
    for name in client.scan_iter(match=prefix + "*", count=1000):
        by_family[family(name.decode(), prefix)] += client.memory_usage(name, samples=0) or 0
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
    print(f"redis {server.version()}, {args.count} memories of one user, average content {avg_chars:.0f} characters")
    print("records and id index, by layout:")
    for name, per in layouts.items():
        print(f"  {name:<11} {per:8.1f} bytes per memory  ({per - avg_chars:6.1f} beyond the content)")
    print(f"the whole write path (every index included): {full:.1f} bytes per memory, of which:")
    total = sum(by_family.values())
    for name, used in by_family.most_common():
        print(f"  {name:<24} {used / args.count:8.1f}  ({used / total:5.1%})")
    services.close()
    server.stop()


if __name__ == "__main__":
    main()
