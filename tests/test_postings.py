"""The search index's postings in buckets (index/postings.py): what the write scripts store, that search
and `check` read it right across buckets, and what `reindex` repairs."""

from __future__ import annotations

import random

import pytest

from helpers import auth
from memory_api.index import postings
from memory_api.index.analyzer import search_terms
from memory_api.store import keys
from test_search import brute_force

USER = "alice"


def term_key(word: str) -> str:
    [term] = search_terms(word)
    return keys.term_postings(USER, term)


def stored(redis_client, word: str) -> dict:
    return {k.decode(): v for k, v in redis_client.hgetall(term_key(word)).items()}


def scored(client, key, query: str, *, complete: bool = True) -> dict[str, float]:
    resp = client.get("/v1/memory/search", query_string={"query": query, "limit": 100, "mode": "keyword"},
                      headers=auth(key))
    assert resp.status_code == 200, resp.json
    assert not (complete and resp.json["has_more"])
    return {m["id"]: round(m["score"], 6) for m in resp.json["data"]}


def ranked(client, key, query: str) -> list[str]:
    return list(scored(client, key, query))


def test_bucket_layout_round_trips():
    entries = [(512, 65536 + 2), (513, 3 * 65536 + 7), (767, 1 * 65536 + 40)]
    value = postings.encode_bucket(entries)
    assert len(value) == 15  # five bytes a posting
    assert postings.decode([(b"b2", value), (b"df", b"3")]) == [(b"512", 65538), (b"513", 196615), (b"767", 65576)]
    assert postings.find(value, 513) == 196615 and postings.find(value, 514) is None
    assert postings.bucket_field(511) == "b1" and postings.bucket_field(512) == "b2"
    assert postings.document_count(b"3") == 3 and postings.document_count(None) == 0
    assert postings.document_count(b"x") == 0  # a damaged count reads as absent


def test_postings_across_buckets_follow_every_write(client, make_key, services, redis_client):
    key = make_key(USER)
    rnd = random.Random(5)
    words = ["garden", "tomato", "basil", "compost", "shed", "rain", "fence", "hose", "seed", "rake", "pond",
             "mulch"]
    memories: dict[str, dict] = {}
    for i in range(330):  # over one bucket of document numbers (256), then renumbered by updates
        content = " ".join(rnd.choices(words, k=rnd.randint(1, 3))) + f" note{i}"
        memories[services.memories.create(USER, content).memory.id] = {"content": content}
    fields = stored(redis_client, "garden")
    assert {"b0", "b1"} <= fields.keys() and int(fields["df"]) == sum(
        "garden" in m["content"].split() for m in memories.values())
    for memory_id in rnd.sample(sorted(memories), 60):  # content updates: a new document number each
        content = " ".join(rnd.choices(words, k=3)) + " moved"
        client.patch(f"/v1/memory/{memory_id}", json={"content": content}, headers=auth(key))
        memories[memory_id] = {"content": content}
    for memory_id in rnd.sample(sorted(memories), 30):  # metadata only: the same document, posted again
        resp = client.patch(f"/v1/memory/{memory_id}", json={"metadata": {"k": "v"}}, headers=auth(key))
        assert resp.status_code == 200
    for memory_id in rnd.sample(sorted(memories), 80):
        assert client.delete(f"/v1/memory/{memory_id}", headers=auth(key)).status_code == 200
        del memories[memory_id]
    everyone = [{"id": i, **m} for i, m in memories.items()]
    for query in ("garden", "tomato basil", "rain shed", "moved pond"):
        # Compared by score: equal scores (common here) may come in either order.
        assert scored(client, key, query) == {i: round(s, 6) for s, i in brute_force(everyone, query)}, query
    assert services.check_consistency().ok
    for memory_id in list(memories):
        client.delete(f"/v1/memory/{memory_id}", headers=auth(key))
    assert redis_client.exists(term_key("garden")) == 0  # the last document gone: the hash too


@pytest.mark.parametrize("damage", ["count", "twice", "stray", "torn", "unsorted", "name"])
def test_check_finds_damaged_postings_and_search_still_answers(client, make_key, services, redis_client, damage):
    key = make_key(USER)
    first = services.memories.create(USER, "the pear tree").memory
    services.memories.create(USER, "pear cider")
    term, field = term_key("pear"), postings.bucket_field(first.docno)
    bucket = redis_client.hget(term, field)
    if damage == "count":
        redis_client.hincrby(term, "df", 1)
        expected = "count 3 documents and list 2"
    elif damage == "twice":
        redis_client.hset(term, field, bucket + bucket[:5])
        expected = "more than once"
    elif damage == "stray":
        redis_client.hset(term, postings.bucket_field(9999), postings.encode_bucket([(9999, 65537)]))
        redis_client.hincrby(term, "df", 1)
        expected = "without records"
    elif damage == "torn":
        redis_client.hset(term, field, bucket + b"\x07\x00")
        expected = "not whole 5-byte entries"
    elif damage == "unsorted":
        redis_client.hset(term, field, bucket[5:] + bucket[:5])
        expected = "not in ascending order"
    else:
        redis_client.hset(term, "bx", b"junk")
        expected = "no bucket"
    problems = services.check_consistency().problems
    assert any("'pear'" in p and expected in p for p in problems), problems
    assert client.get("/v1/memory/search", query_string={"query": "pear", "mode": "keyword"},
                      headers=auth(key)).status_code == 200
    report = services.reindexer().run([USER])
    assert report.terms_mended == (0 if damage == "stray" else 1)
    assert services.check_consistency().ok
    assert sorted(ranked(client, key, "pear")) == sorted(m.id for m in services.memories.list(USER).items)


def test_a_wrong_count_never_drops_live_postings_and_reindex_repairs_it(client, make_key, services,
                                                                        redis_client):
    """A damaged count: a delete that takes it to 0 must not take the term's other postings with it."""
    key = make_key(USER)
    ids = [services.memories.create(USER, f"quince jelly jar {i}").memory.id for i in range(3)]
    redis_client.hincrby(term_key("quince"), "df", -1)  # counted 2, lists 3
    for memory_id in ids[:2]:
        assert client.delete(f"/v1/memory/{memory_id}", headers=auth(key)).status_code == 200
    assert ranked(client, key, "quince") == [ids[2]]  # still found: recounted, not dropped
    redis_client.hincrby(term_key("quince"), "df", 5)
    assert not services.check_consistency().ok
    report = services.reindexer().run([USER])
    assert report.terms_mended == 1 and services.check_consistency().ok
