"""`memory-api reindex`: memories indexed under older search rules are brought up to date in place."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter

from helpers import auth, subprocess_env
from memory_api.models import Memory
from memory_api.store.records import Indexed
from memory_api.tokens import count_tokens, count_words


def store_as_before_stemming(services, user: str, content: str) -> Memory:
    """A memory written the way the first analyzer did (no stems, no version marker)."""
    words = [w for w in content.lower().replace(".", "").split() if w not in ("my", "i", "am", "to", "the")]
    tf = Counter(words)
    memory = Memory(id=f"mem_01JD{len(content):02d}{'0' * 20}", content=content, updated_at=1_700_000_000,
                    word_count=count_words(content), token_count=count_tokens(content))
    store = services.memories.store
    [(status, stored)] = store.create_many(user, [(memory, Indexed(
        terms=" ".join(f"{t} {n}" for t, n in tf.items()), length=sum(tf.values()), fingerprint="f" * 20,
        version=1))])
    assert status == "created"
    return stored


def test_reindex_brings_old_memories_up_to_date(client, services, make_key, redis_server, tmp_path):
    key = make_key("alice")
    old = store_as_before_stemming(services, "alice", "I am allergic to peanuts.")
    services.memories.create("alice", "Our two cats sleep all day.")  # written under today's rules

    def found(query):
        return [m["id"] for m in client.get("/v1/memory/search", query_string={"query": query},
                                            headers=auth(key)).json["data"]]

    assert old.id not in found("peanut")  # indexed as "peanuts": the stemmed query misses it
    etag = client.get(f"/v1/memory/{old.id}", headers=auth(key)).headers["ETag"]
    report = services.check_consistency()
    assert any("older search rules" in p for p in report.problems)

    env = subprocess_env(REDIS_URL=redis_server.url)
    run = subprocess.run([sys.executable, "-m", "memory_api.cli", "reindex"], env=env, capture_output=True,
                         text=True, timeout=60, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert "reindexed 1 of 2 memories of 1 user(s)" in run.stdout

    assert found("peanut") == [old.id]
    assert services.check_consistency().ok
    after = client.get(f"/v1/memory/{old.id}", headers=auth(key))
    assert after.headers["ETag"] == etag and after.json["content"] == "I am allergic to peanuts."
    again = subprocess.run([sys.executable, "-m", "memory_api.cli", "reindex"], env=env, capture_output=True,
                           text=True, timeout=60, cwd=tmp_path)
    assert "reindexed 0 of 2" in again.stdout  # resumable: what is current is skipped
