"""The search index's postings in buckets (store/postings.py): what the write scripts store, that search
and `check` read it right across buckets, and that hashes written one posting per field (before buckets)
keep working beside them."""

from __future__ import annotations

import random

import pytest

from helpers import auth
from memory_api.store import keys, postings
from memory_api.store.postings_upkeep import PostingsUpkeep
from memory_api.text import search_terms
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


def as_before_buckets(redis_client, word: str) -> int:
    """Rewrite a term's hash the way it was stored before buckets (one field per document, no df);
    returns how many postings it holds."""
    key = term_key(word)
    listed = postings.decode(list(redis_client.hgetall(key).items()))
    redis_client.delete(key)
    redis_client.hset(key, mapping={docno: value for docno, value in listed})
    return len(listed)


def test_bucket_layout_round_trips():
    entries = [(512, 65536 + 2), (513, 3 * 65536 + 7), (767, 1 * 65536 + 40)]
    value = postings.encode_bucket(entries)
    assert len(value) == 15  # five bytes a posting
    assert postings.decode([(b"b2", value), (b"df", b"4"), (b"17", b"65539")]) == [
        (b"512", 65538), (b"513", 196615), (b"767", 65576), (b"17", 65539)]
    assert postings.find(value, 513) == 196615 and postings.find(value, 514) is None
    assert postings.bucket_field(511) == "b1" and postings.bucket_field(512) == "b2"
    assert postings.document_count(b"4", 3) == 4 and postings.document_count(None, 3) == 3


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


def test_hashes_from_before_buckets_keep_working(client, make_key, services, redis_client):
    key = make_key(USER)
    old = [services.memories.create(USER, f"the plum tree number {i}").memory.id for i in range(3)]
    assert as_before_buckets(redis_client, "plum") == 3
    assert "df" not in stored(redis_client, "plum")
    assert services.check_consistency().ok
    new = [services.memories.create(USER, f"plum jam batch {i}").memory.id for i in range(2)]
    fields = stored(redis_client, "plum")
    assert int(fields["df"]) == 5 and sum(f.isdigit() for f in fields) == 3  # counted, not rewritten
    assert sorted(ranked(client, key, "plum")) == sorted(old + new)
    assert services.check_consistency().ok

    client.delete(f"/v1/memory/{old[0]}", headers=auth(key))  # a one-field posting removed
    client.patch(f"/v1/memory/{old[1]}", json={"content": "a plum pie"}, headers=auth(key))  # moved to a bucket
    fields = stored(redis_client, "plum")
    assert int(fields["df"]) == 4 and sum(f.isdigit() for f in fields) == 1
    assert sorted(ranked(client, key, "plum")) == sorted(old[1:] + new)
    assert services.check_consistency().ok
    for memory_id in old[1:] + new:
        client.delete(f"/v1/memory/{memory_id}", headers=auth(key))
    assert redis_client.exists(term_key("plum")) == 0


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
        redis_client.hset(term, "9999", 65537)
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


def test_a_wrong_count_never_drops_live_postings_and_reindex_repairs_it(client, make_key, services,
                                                                        redis_client):
    """A writer of the previous version adds one-field postings without counting them: a delete that takes
    the count to 0 must not take the term's other postings with it."""
    key = make_key(USER)
    ids = [services.memories.create(USER, f"quince jelly jar {i}").memory.id for i in range(3)]
    redis_client.hincrby(term_key("quince"), "df", -1)  # counted 2, lists 3
    for memory_id in ids[:2]:
        assert client.delete(f"/v1/memory/{memory_id}", headers=auth(key)).status_code == 200
    assert ranked(client, key, "quince") == [ids[2]]  # still found: recounted, not dropped
    redis_client.hincrby(term_key("quince"), "df", 5)
    assert not services.check_consistency().ok
    report = services.reindexer().run([USER])
    assert report.counts_repaired == 1 and services.check_consistency().ok


def test_compaction_keeps_the_bucket_entry_of_a_document_listed_both_ways(services, make_key, redis_client):
    make_key(USER)
    memory = services.memories.create(USER, "a fig tree").memory
    term = term_key("fig")
    redis_client.hset(term, str(memory.docno), 9 * 65536 + 99)  # a stale one-field copy beside the bucket
    assert not services.check_consistency().ok  # listed twice
    assert PostingsUpkeep(services.redis).compact(USER) == (1, 0)  # moved (its count was right: 1)
    assert not any(f.isdigit() for f in stored(redis_client, "fig"))
    assert services.check_consistency().ok  # the bucket's (right) value kept, counted once


def test_reindex_moves_postings_from_before_buckets_into_buckets(client, make_key, services, redis_client):
    key = make_key(USER)
    ids = [services.memories.create(USER, f"the olive grove row {i}").memory.id for i in range(300)]
    assert as_before_buckets(redis_client, "olive") == 300
    ids.append(services.memories.create(USER, "olive oil").memory.id)  # a bucket beside the old fields
    queries = ("olive", "olive row 7", "olive row 280", "oil")
    before = [list(scored(client, key, q, complete=False).items()) for q in queries]  # in order
    assert before[3][0][0] == ids[-1] and before[1][0][0] == ids[7] and before[2][0][0] == ids[280]

    assert PostingsUpkeep(services.redis).compact(USER, per_call=64) == (300, 0)  # several calls
    fields = stored(redis_client, "olive")
    assert not any(f.isdigit() for f in fields) and int(fields["df"]) == 301
    assert {"b0", "b1"} <= fields.keys()
    assert [list(scored(client, key, q, complete=False).items()) for q in queries] == before
    assert services.check_consistency().ok
    assert services.reindexer().run([USER]).postings_moved == 0  # nothing left to move
