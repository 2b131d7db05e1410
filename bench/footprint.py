"""Redis bytes per memory for candidate layouts, measured with INFO memory.

    python bench/footprint.py [--count 20000]

Layouts compared (each with the same per-user ZSET of ids for ordering):
  user-hash   one HASH per user, field = memory id, value = compact JSON   (what we use)
  key-string  one STRING key per memory holding the compact JSON
  key-hash    one HASH key per memory, one field per attribute
The memory records are written by the real store code for the first layout.
"""

from __future__ import annotations

import argparse
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench.common import PrivateRedis, sample_content  # noqa: E402
from memory_api.config import Settings  # noqa: E402
from memory_api.services import Services  # noqa: E402
from memory_api.store import keys  # noqa: E402


def measure(redis_: PrivateRedis, fill) -> float:
    redis_.client.flushall()
    before = redis_.used_memory()
    count = fill()
    return (redis_.used_memory() - before) / count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=20_000)
    args = parser.parse_args()
    server = PrivateRedis()
    services = Services.build(Settings(redis_url=server.url))
    rnd = random.Random(7)
    contents = [sample_content(rnd) for _ in range(args.count)]
    avg_chars = sum(map(len, contents)) / len(contents)

    def user_hash() -> int:
        for text in contents:
            services.memories.create("bench", text, {"source": "chat"})
        return args.count

    records: list[tuple[str, str]] = []

    def snapshot_records() -> None:
        client = server.client
        for mem_id, raw in client.hgetall(keys.memory_items("bench")).items():
            records.append((mem_id.decode(), raw.decode()))

    def key_string() -> int:
        pipe = server.client.pipeline(transaction=False)
        for mem_id, raw in records:
            pipe.set(f"ma1:{{u:bench}}:m:{mem_id}", raw)
            pipe.zadd("ma1:{u:bench}:ids", {mem_id: 0})
        pipe.execute()
        return len(records)

    def key_hash() -> int:
        import json

        pipe = server.client.pipeline(transaction=False)
        for mem_id, raw in records:
            rec = json.loads(raw)
            rec["m"] = json.dumps(rec["m"])
            pipe.hset(f"ma1:{{u:bench}}:m:{mem_id}", mapping=rec)
            pipe.zadd("ma1:{u:bench}:ids", {mem_id: 0})
        pipe.execute()
        return len(records)

    results = {"user-hash": measure(server, user_hash)}
    snapshot_records()
    results["key-string"] = measure(server, key_string)
    results["key-hash"] = measure(server, key_hash)
    print(f"redis {server.version()}, {args.count} memories, average content {avg_chars:.0f} characters")
    for name, per in results.items():
        print(f"  {name:<11} {per:8.1f} bytes per memory  ({per - avg_chars:6.1f} beyond the content)")
    services.close()
    server.stop()


if __name__ == "__main__":
    main()
