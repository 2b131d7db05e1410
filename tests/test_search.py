"""Full-text search: right after every kind of write, checked against a brute-force BM25."""

from __future__ import annotations

import math
import random

import pytest

from helpers import auth
from memory_api.index.analyzer import analyze, query_terms

VOCABULARY = (
    "tea coffee Lyon Berlin Osaka piano marathon peanuts vegetarian budget March deadline Pixel Miso "
    "café Über Straße 東京 naïve résumé green GREEN the and of with my"
).split()
TAGS = ["work", "home", "health"]
SCOPES = [None, "alpha", "beta"]


def brute_force(memories: list[dict], query: str, *, tags=(), scope="any", k1=1.2, b=0.75) -> list[tuple]:
    """BM25 as the service defines it, computed from scratch over every memory of the user."""
    docs = {m["id"]: analyze(m["content"]).frequencies for m in memories}
    n = len(docs)
    if n == 0:
        return []
    avgdl = sum(sum(tf.values()) for tf in docs.values()) / n or 1
    scores: dict[str, float] = {}
    for term in query_terms(query):
        df = sum(1 for tf in docs.values() if term in tf)
        if not df:
            continue
        idf = math.log(1 + (n - df + 0.5) / (df + 0.5))
        for memory_id, tf in docs.items():
            if term in tf:
                dl = sum(tf.values())
                f = tf[term]
                scores[memory_id] = scores.get(memory_id, 0) + idf * f * (k1 + 1) / (f + k1 * (1 - b + b * dl / avgdl))
    by_id = {m["id"]: m for m in memories}
    kept = [(round(s, 9), i) for i, s in scores.items()
            if all(t in by_id[i]["tags"] for t in tags) and (scope == "any" or by_id[i]["scope"] == scope)]
    return sorted(kept, key=lambda item: (item[0], item[1]), reverse=True)


def all_memories(client, key) -> list[dict]:
    found, after = [], None
    while True:
        page = client.get("/v1/memory?limit=100" + (f"&after={after}" if after else ""), headers=auth(key)).json
        found += page["data"]
        if not page["has_more"]:
            return found
        after = page["last_id"]


def search(client, key, query, limit=100, **filters):
    params = {"query": query, "limit": limit}
    params.update({k: v for k, v in filters.items() if v is not None})
    resp = client.get("/v1/memory/search", query_string=params, headers=auth(key))
    assert resp.status_code == 200, resp.json
    return resp.json


def sentence(rnd: random.Random) -> str:
    return " ".join(rnd.choice(VOCABULARY) for _ in range(rnd.randint(1, 12)))


def test_search_matches_brute_force_after_random_writes(client, make_key):
    key = make_key("alice")
    rnd = random.Random(20261122)
    for step in range(160):
        memories = all_memories(client, key)
        roll = rnd.random()
        if roll < 0.35 or not memories:
            body = {"content": sentence(rnd), "tags": rnd.sample(TAGS, rnd.randint(0, 2)),
                    "scope": rnd.choice(SCOPES)}
            assert client.post("/v1/memory", json=body, headers=auth(key)).status_code == 200
        elif roll < 0.55:
            victim = rnd.choice(memories)
            change = rnd.choice([{"content": sentence(rnd)}, {"tags": rnd.sample(TAGS, 1)},
                                 {"scope": rnd.choice(SCOPES)}, {"content": sentence(rnd), "scope": None}])
            assert client.patch(f"/v1/memory/{victim['id']}", json=change, headers=auth(key)).status_code == 200
        elif roll < 0.7:
            victim = rnd.choice(memories)
            assert client.delete(f"/v1/memory/{victim['id']}", headers=auth(key)).status_code == 200
        elif roll < 0.8:
            batch = [{"content": sentence(rnd), "tags": rnd.sample(TAGS, 1)} for _ in range(rnd.randint(1, 4))]
            assert client.post("/v1/memory/batch", json={"memories": batch}, headers=auth(key)).status_code == 200
        elif roll < 0.9:
            ids = [m["id"] for m in rnd.sample(memories, min(3, len(memories)))]
            assert client.post("/v1/memory/batch_delete", json={"ids": ids}, headers=auth(key)).status_code == 200
        else:
            exported = client.get("/v1/memory/export", headers=auth(key)).data
            lines = exported.decode().splitlines()
            kept = [lines[0]] + [line for line in lines[1:] if rnd.random() < 0.5]
            client.delete("/v1/memory?confirm=true", headers=auth(key))
            resp = client.post("/v1/memory/import", data="\n".join(kept), content_type="application/x-ndjson",
                               headers=auth(key))
            assert resp.status_code == 200, resp.json
        memories = all_memories(client, key)
        for _ in range(2):
            query = " ".join(rnd.choice(VOCABULARY) for _ in range(rnd.randint(1, 3)))
            tags = rnd.sample(TAGS, rnd.randint(0, 1))
            scope = rnd.choice(["any", "any", None, "alpha"])
            found = search(client, key, query, tag=tags or None,
                           scope=None if scope == "any" else (scope or "global"))
            got = [(round(m["score"], 9), m["id"]) for m in found["data"]]
            want = brute_force(memories, query, tags=tags, scope=scope)[:100]
            assert [i for _, i in got] == [i for _, i in want], (step, query)
            assert [s for s, _ in got] == pytest.approx([s for s, _ in want], abs=1e-6)  # scores: 6 decimals


def test_limit_and_has_more(client, make_key):
    key = make_key("alice")
    for i in range(5):
        client.post("/v1/memory", json={"content": f"tea number {i}" + " tea" * i}, headers=auth(key))
    page = search(client, key, "tea", limit=2)
    assert len(page["data"]) == 2 and page["has_more"] is True
    assert page["data"][0]["content"].count("tea") == 5  # most occurrences first
    assert search(client, key, "tea", limit=5)["has_more"] is False


@pytest.mark.parametrize("content, query, matches", [
    ("I drink GREEN tea", "green", True),
    ("Ich wohne in der Straße", "STRASSE", True),  # full Unicode case folding
    ("Meeting in Tōkyō", "tōkyō", True),
    ("東京に住んでいます", "東京", True),  # CJK: one term per character
    ("my two cats", "cat", True),  # English stems, at index and query time alike
    ("Fay is allergic to peanuts", "peanut allergy", True),
    ("We cooked pasta", "cooking", True),
    ("my two cats", "dog", False),
    ("the and of", "the", False),  # stop words are not indexed
    ("café au lait", "cafe", False),  # accents are kept
    ("resume ready", "résumé", False),
    ("big-data pipeline", "data", True),  # punctuation separates words
])
def test_what_matches(client, make_key, content, query, matches):
    key = make_key("alice")
    client.post("/v1/memory", json={"content": content}, headers=auth(key))
    assert bool(search(client, key, query)["data"]) is matches


def test_time_range_filters(client, make_key, redis_client):
    key = make_key("alice")
    old = client.post("/v1/memory", json={"content": "tea old"}, headers=auth(key)).json
    new = client.post("/v1/memory", json={"content": "tea new"}, headers=auth(key)).json
    created = old["created_at"]
    assert {m["id"] for m in search(client, key, "tea", created_after=created)["data"]} == {old["id"], new["id"]}
    assert search(client, key, "tea", created_before=created - 1)["data"] == []
    assert search(client, key, "tea", updated_after=new["updated_at"] + 1)["data"] == []
    listed = client.get(f"/v1/memory?created_after={created}&created_before={created + 5}", headers=auth(key)).json
    assert {m["id"] for m in listed["data"]} == {old["id"], new["id"]}
    assert client.get(f"/v1/memory?updated_before={created - 1}", headers=auth(key)).json["data"] == []


def test_search_is_per_user(client, make_key):
    alice, bob = make_key("alice"), make_key("bob")
    client.post("/v1/memory", json={"content": "alice likes tea"}, headers=auth(alice))
    assert search(client, bob, "tea")["data"] == []


@pytest.mark.parametrize("params, param", [
    ({}, "query"), ({"query": " "}, "query"), ({"query": "x" * 1001}, "query"),
    ({"query": "tea", "limit": 0}, "limit"), ({"query": "tea", "tag": "bad tag!"}, "tag"),
    ({"query": "tea", "scope": "-bad"}, "scope"), ({"query": "tea", "created_after": -1}, "created_after"),
])
def test_bad_search_queries(client, make_key, params, param):
    resp = client.get("/v1/memory/search", query_string=params, headers=auth(make_key("alice")))
    assert resp.status_code == 400 and resp.json["error"]["param"] == param


def test_filters_reaching_past_the_first_candidates(client, make_key):
    """Only old, low-ranked memories pass the filter: the search must look past its first picks."""
    key = make_key("alice")
    tagged = [client.post("/v1/memory", json={"content": f"tea note {i} " + "padding " * 30, "tags": ["rare"]},
                          headers=auth(key)).json["id"] for i in range(4)]
    memories = [{"content": f"tea tea tea {i}"} for i in range(200)]
    for start in range(0, 200, 100):
        client.post("/v1/memory/batch", json={"memories": memories[start:start + 100]}, headers=auth(key))
    found = search(client, key, "tea", limit=3, tag="rare")
    assert len(found["data"]) == 3 and {m["id"] for m in found["data"]} <= set(tagged)
    assert found["has_more"] is True
    everything = brute_force(all_memories(client, key), "tea", tags=["rare"])
    assert [m["id"] for m in found["data"]] == [i for _, i in everything[:3]]


def test_resolving_hits_in_batches_keeps_order_filters_and_want(services):
    """store.resolve_hits reads documents a batch at a time (store/query_lua.py): whatever the filters
    turn away and however many are wanted, it returns what a one-by-one walk of the ranking would."""
    from memory_api.models import Filters

    rnd = random.Random(11)
    user = "batch-resolver"
    created = services.memories.create_batch(user, [
        {"content": f"{sentence(rnd)} {i}", "tags": rnd.sample(TAGS, rnd.randint(0, 2)),
         **({"scope": s} if (s := rnd.choice(SCOPES)) else {})} for i in range(80)])
    memories = [c.memory for c in created]
    gone = {m.id for m in rnd.sample(memories, 10)}
    for memory_id in gone:
        services.memories.delete(user, memory_id)
    store = services.memories.store
    ranking = [str(m.docno).encode() for m in memories] + [b"999999"]  # and a document that never was
    rnd.shuffle(ranking)
    by_docno = {str(m.docno): m for m in memories if m.id not in gone}
    ids = sorted(m.id for m in memories)
    updated = sorted(m.updated_at for m in memories)
    for _ in range(60):
        filters = Filters(tags=tuple(rnd.sample(TAGS, rnd.choice((0, 0, 1, 2)))),
                          updated_after=rnd.choice((None, updated[20])), updated_before=rnd.choice((None, updated[60])))
        scopes = rnd.choice((None, [None], [None, "alpha"], ["beta"]))
        low, high = rnd.choice((None, ids[10])), rnd.choice((None, ids[70]))
        want = rnd.choice((1, 7, 25, 100))

        def passes(m):
            return (all(t in m.tags for t in filters.tags) and (scopes is None or m.scope in scopes)
                    and (low is None or m.id >= low) and (high is None or m.id <= high)
                    and (filters.updated_after is None or m.updated_at >= filters.updated_after)
                    and (filters.updated_before is None or m.updated_at <= filters.updated_before))

        expected = [(d.decode(), by_docno[d.decode()].id) for d in ranking
                    if d.decode() in by_docno and passes(by_docno[d.decode()])][:want]
        found = store.resolve_hits(user, ranking, want=want, filters=filters, scopes=scopes, lowest_id=low,
                                   highest_id=high)
        assert [(d.decode() if isinstance(d, bytes) else str(d), m.id) for d, m in found] == expected
        assert all(m == by_docno[str(m.docno)] for _, m in found)
