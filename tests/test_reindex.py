"""`memory-api reindex`: a memory missing from the search index is indexed again in place, from its content."""

from __future__ import annotations

import subprocess
import sys

from helpers import auth, subprocess_env
from memory_api.index.analyzer import search_terms
from memory_api.store import keys


def test_reindex_brings_a_damaged_index_up_to_date(client, services, make_key, redis_server, redis_client, tmp_path):
    key = make_key("alice")
    hurt = services.memories.create("alice", "I am allergic to peanuts.").memory
    services.memories.create("alice", "Our two cats sleep all day.")
    [peanut] = search_terms("peanuts")
    redis_client.delete(keys.term_postings("alice", peanut))  # damage: a term's postings are lost

    def found(query):
        return [m["id"] for m in client.get("/v1/memory/search", query_string={"query": query, "mode": "keyword"},
                                            headers=auth(key)).json["data"]]

    assert found("peanut") == []
    etag = client.get(f"/v1/memory/{hurt.id}", headers=auth(key)).headers["ETag"]
    report = services.check_consistency()
    assert any(hurt.id in p and "posting of 'peanut'" in p for p in report.problems), report.problems

    env = subprocess_env(REDIS_URL=redis_server.url)
    run = subprocess.run([sys.executable, "-m", "memory_api.cli", "reindex"], env=env, capture_output=True,
                         text=True, timeout=60, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert "reindexed 1 of 2 memories of 1 user(s)" in run.stdout

    assert found("peanut") == [hurt.id]
    assert services.check_consistency().ok
    after = client.get(f"/v1/memory/{hurt.id}", headers=auth(key))
    assert after.headers["ETag"] == etag and after.json["content"] == "I am allergic to peanuts."
    again = subprocess.run([sys.executable, "-m", "memory_api.cli", "reindex"], env=env, capture_output=True,
                           text=True, timeout=60, cwd=tmp_path)
    assert "reindexed 0 of 2" in again.stdout  # resumable: what is right is left alone
