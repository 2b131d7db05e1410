"""Write tests/data/previous_store.json: a store made by memory-api of the previous store format (keys ma1:*),
with what that version answered about it, for tests/test_migrate.py.

Run it with a checkout of the version that wrote the previous format (f44c098) first on the path:

    git worktree add --detach /tmp/old f44c098
    PYTHONPATH=/tmp/old .venv/bin/python tests/data/make_previous_store.py

It starts a private redis-server, writes memories of two users through that version's own services
(scopes, tags, metadata, updates with history, a delete, a batch), a conversation and API keys, and
records every key (DUMP, base64) with what that version lists, searches (keyword and hybrid) and
returns as history, so a test can load the keys into a Redis, migrate, and compare.
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import redis

import memory_api
from memory_api.config import Settings
from memory_api.services import Services
from memory_api.store.redis_binary import choose_redis_server

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/, for store_answers

from store_answers import answers  # noqa: E402

OUT = Path(__file__).with_name("previous_store.json")
ALICE = [
    ("I am allergic to peanuts", {"tags": ["health"]}),
    ("I'm vegetarian and love Thai curries", {"tags": ["food"], "metadata": {"source": "chat"}}),
    ("Our two cats, Miso and Tofu, sleep all day", {}),
    ("I live in Manchester", {}),
    ("Planning a trip to Japan in April", {"scope": "travel"}),
    ("My sister runs a book club on Thursdays", {"tags": ["family", "weekly"]}),
    ("Prefers window seats on long flights", {"scope": "travel", "tags": ["travel"]}),
    ("Cooking tonight: a chickpea and spinach stew", {}),
]


def main() -> None:
    assert not memory_api.__file__.startswith(str(Path(__file__).resolve().parents[2])), (
        "run with a checkout of the previous version first on PYTHONPATH (see the docstring)")
    with tempfile.TemporaryDirectory() as tmp:
        port = 56379
        proc = subprocess.Popen([choose_redis_server().path, "--port", str(port), "--save", "", "--dir", tmp],
                                stdout=subprocess.DEVNULL)
        try:
            time.sleep(0.5)
            OUT.write_text(json.dumps(build(f"redis://127.0.0.1:{port}/0"), indent=1) + "\n")
        finally:
            proc.terminate()
    print(f"wrote {OUT}", file=sys.stderr)


def build(url: str) -> dict:
    services = Services.build(Settings(redis_url=url, data_dir="/nonexistent", log_level="WARNING"))
    services.check_embedding_model()  # as `serve` does at start: the deployment's model is recorded
    ids = {}
    for content, extra in ALICE:
        ids[content] = services.memories.create("alice", content, extra.get("metadata"), tags=extra.get("tags"),
                                                scope=extra.get("scope")).memory.id
    services.memories.update("alice", ids["I live in Manchester"], {"content": "I moved to Berlin in 2024"})
    services.memories.update("alice", ids["Our two cats, Miso and Tofu, sleep all day"], {"metadata": {"k": "v"}})
    services.memories.delete("alice", ids["Cooking tonight: a chickpea and spinach stew"])
    for start in (0, 100):  # more than a query profile needs (fitted by the first hybrid search)
        services.memories.create_batch("bob", [{"content": f"Bob's note number {i} about cats and dogs"}
                                               for i in range(start, start + 60)])
    services.keys.create(user="alice")
    services.conversations.create("alice", {"topic": "dinner"})
    expected = {user: answers(services, user) for user in ("alice", "bob")}
    client = redis.Redis.from_url(url)
    keys = {}
    for name in sorted(client.scan_iter(match="ma1*")):
        keys[name.decode()] = {"dump": base64.b64encode(client.dump(name)).decode(), "pttl": client.pttl(name)}
    services.close()
    return {"made_by": "memory-api f44c098", "keys": keys, "expected": expected}


if __name__ == "__main__":
    main()
