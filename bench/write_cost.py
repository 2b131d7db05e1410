"""What a create costs, and how much of it the embedding adds.

    python bench/write_cost.py [--memories 20000] [--rounds 400] [--threads 1]

Two users on one private Redis, each first given --memories memories through the
store's batch write (the same Lua script as a create; short notes from
bench/common.py `sample_content`, so the search postings are long lists, the
costly case for the write script). Then --rounds creates each, interleaved
one by one (which goes first alternates), through `Services.memories.create`,
the path `POST /v1/memory` takes below HTTP: analysis, the embedding (one
user's Services run the offline default embedder, the other's embeddings off)
and the Lua write. "Added by embedding" is the difference of the p50s.

Twice: with everyday notes (bench/data/recall_set.json's, 55 characters on
average, ~14 tokens) and with 250-character memories (`sample_content`): a
transformer's cost grows with the text's length.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench.common import PrivateRedis, sample_content  # noqa: E402
from memory_api.config import Settings  # noqa: E402
from memory_api.services import Services  # noqa: E402
from memory_api.store.memories import MemoryStore  # noqa: E402
from memory_api.models import Memory  # noqa: E402
from memory_api.ids import new_memory_id  # noqa: E402
from memory_api.tokens import count_tokens, count_words  # noqa: E402


def preload(services: Services, user: str, count: int, rnd: random.Random) -> None:
    store = MemoryStore(services.redis)  # keyword side only: what the write script touches per posting
    now = int(time.time())
    for start in range(0, count, 500):
        texts = [f"{sample_content(rnd)} ({user} {i})" for i in range(start, min(start + 500, count))]
        store.create_many(user, [Memory(new_memory_id(), t, {}, now, count_words(t), count_tokens(t), 1)
                                 for t in texts], refuse_duplicates=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--memories", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=400)
    parser.add_argument("--threads", type=int, default=1, help="MEMORY_API_EMBEDDING_THREADS")
    args = parser.parse_args()
    server = PrivateRedis()
    base = Settings(redis_url=server.url, embedding_threads=args.threads)
    runs = {"embeddings off": Services.build(base.replace(embeddings="off")), "offline default": Services.build(base)}
    rnd = random.Random(11)
    for name, services in runs.items():
        preload(services, name.replace(" ", "-"), args.memories, rnd)
    model = runs["offline default"].search.semantic.model()
    for services in runs.values():  # warm: the model loaded, scripts registered
        for i in range(20):
            services.memories.create("warm", f"warm up note {i} {services is runs['offline default']}")
    with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "recall_set.json"),
              encoding="utf-8") as fh:
        notes = json.load(fh)["notes"]
    print(f"redis {server.version()}, {args.memories} memories per user before, {args.rounds} creates each, "
          f"interleaved; embedder {model}, onnxruntime threads {args.threads}")
    for label, content_of in (("everyday notes", lambda i: f"{notes[i % len(notes)]} ({i})"),
                              ("250-character memories", lambda i: f"{sample_content(rnd)} [{i}]")):
        times: dict[str, list[float]] = {name: [] for name in runs}
        contents = [content_of(i) for i in range(args.rounds)]
        for i, content in enumerate(contents):
            order = list(runs) if i % 2 == 0 else list(reversed(list(runs)))
            for name in order:
                started = time.perf_counter()
                runs[name].memories.create(name.replace(" ", "-"), content)
                times[name].append(time.perf_counter() - started)
        p50 = {name: statistics.median(t) * 1000 for name, t in times.items()}
        print(f"{label}, {sum(map(len, contents)) / len(contents):.0f} characters on average:")
        for name, t in times.items():
            print(f"  {name:<16} create p50 {p50[name]:6.2f} ms  p95 {sorted(t)[int(len(t) * 0.95)] * 1000:6.2f} ms")
        print(f"  added by embedding: {p50['offline default'] - p50['embeddings off']:.2f} ms at p50")
    for services in runs.values():
        services.close()
    server.stop()


if __name__ == "__main__":
    main()
