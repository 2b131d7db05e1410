"""A memory's search terms are recomputed from its record when it leaves the index, never stored beside it
(index/lua.py, store/memories.py): every write takes it out of exactly the postings it was in, and
`memory-api reindex` repairs what damage leaves (postings of memories that are gone, or of terms a memory
lacks, and memories missing from the index)."""

from __future__ import annotations

import json

from helpers import auth
from memory_api.index import postings
from memory_api.store import keys
from test_postings import ranked, stored, term_key

USER = "alice"


def posting_keys(redis_client) -> set[str]:
    return {k.decode() for k in redis_client.scan_iter(match=keys.user_keys_pattern(USER, keys.TERM_SUFFIX))}


def test_every_write_leaves_exactly_its_postings(client, make_key, services, redis_client):
    key = make_key(USER)
    h = auth(key)
    first = client.post("/v1/memory", json={"content": "Fay is allergic to peanuts"}, headers=h).json
    batch = client.post("/v1/memory/batch", json={"memories": [{"content": "The walnut tree by the shed"},
                                                            {"content": "Buy almond milk on Friday"}]},
                        headers=h)
    assert batch.status_code in (200, 201), batch.json
    ids = [item["id"] for item in batch.json["data"]]
    assert ranked(client, key, "peanut") == [first["id"]]

    # metadata and tags only: the same document, unindexed and indexed again under recomputed terms
    resp = client.patch(f"/v1/memory/{first['id']}", json={"metadata": {"who": "Fay"}, "tags": ["health"]},
                        headers=h)
    assert resp.status_code == 200, resp.json
    assert ranked(client, key, "peanut") == [first["id"]] and services.check_consistency().ok
    # new content: every old term's posting goes (these words are in no other memory: their hashes go)
    resp = client.patch(f"/v1/memory/{first['id']}", json={"content": "Fay loves cashews"}, headers=h)
    assert resp.status_code == 200, resp.json
    assert redis_client.exists(term_key("peanuts")) == 0 and redis_client.exists(term_key("allergic")) == 0
    assert ranked(client, key, "peanut allergic") == [] and ranked(client, key, "cashew") == [first["id"]]
    # a revert brings the old content back, indexed again
    resp = client.post(f"/v1/memory/{first['id']}/revert", json={"revision": 1}, headers=h)
    assert resp.status_code == 200, resp.json
    assert ranked(client, key, "peanut") == [first["id"]] and redis_client.exists(term_key("cashews")) == 0
    # an import that overwrites, and deletes
    export = client.get("/v1/memory/export", headers=h)
    assert export.status_code == 200
    lines = [json.loads(line) for line in export.get_data(as_text=True).splitlines() if line.strip()]
    for line in lines:
        if line.get("id") == ids[0]:
            line["content"] = "The chestnut tree by the gate"
    resp = client.post("/v1/memory/import?on_conflict=overwrite",
                       data="\n".join(json.dumps(line) for line in lines), headers={**h, "Content-Type":
                                                                                    "application/x-ndjson"})
    assert resp.status_code == 200, resp.json
    assert redis_client.exists(term_key("walnut")) == 0 and ranked(client, key, "chestnut") == [ids[0]]
    assert services.check_consistency().ok
    resp = client.post("/v1/memory/batch_delete", json={"ids": [ids[1]]}, headers=h)
    assert resp.status_code == 200 and resp.json["data"][0]["deleted"]
    assert redis_client.exists(term_key("almond")) == 0
    for memory_id in (first["id"], ids[0]):
        assert client.delete(f"/v1/memory/{memory_id}", headers=h).status_code == 200
    assert posting_keys(redis_client) == set() and services.check_consistency().ok


def test_an_import_naming_an_id_twice_leaves_only_the_last_lines_postings(client, make_key, services,
                                                                          redis_client):
    key = make_key(USER)
    h = {**auth(key), "Content-Type": "application/x-ndjson"}
    created = client.post("/v1/memory", json={"content": "a damson crumble"}, headers=auth(key)).json
    export = client.get("/v1/memory/export", headers=auth(key)).get_data(as_text=True).splitlines()
    header, line = export[0], json.loads(export[1])
    fresh = dict(line, id=created["id"][:-4] + "ZZZZ", content="the medlar tree")
    twice = [dict(line, content="a greengage tart"), dict(line, content="a mirabelle jam"),
             fresh, dict(fresh, content="the loquat tree")]
    resp = client.post("/v1/memory/import?on_conflict=overwrite",
                       data="\n".join([header, *(json.dumps(x) for x in twice)]), headers=h)
    assert resp.status_code == 200, resp.json
    for gone in ("damson", "greengage", "medlar"):
        assert redis_client.exists(term_key(gone)) == 0, gone
    assert ranked(client, key, "mirabelle") == [created["id"]] and ranked(client, key, "loquat") == [fresh["id"]]
    assert services.check_consistency().ok


def test_a_reindex_racing_a_content_update_leaves_the_update_indexed(client, make_key, services, redis_client):
    key = make_key(USER)
    memory = services.memories.create(USER, "the quince jelly jar").memory
    redis_client.hdel(keys.memory_docs(USER), str(memory.docno))  # damage: reindex will re-index it
    reindexer = services.reindexer()
    verify = reindexer._verifier.verify

    def racing(user, read_documents):  # the reindex has read the memories; a user's write lands before it acts
        found = verify(user, read_documents)
        services.memories.update(USER, memory.id, {"content": "a pear tart"})
        return found

    reindexer._verifier.verify = racing
    report = reindexer.run([USER])
    assert report.reindexed == 0  # planned from content that is gone: the update's indexing stands
    assert ranked(client, key, "pear") == [memory.id] and ranked(client, key, "quince") == []
    assert services.check_consistency().ok


def test_an_update_that_keeps_the_content_keeps_the_postings(client, make_key, services, redis_client):
    """A change of metadata, tags or scope keeps the document and its terms: its postings are left as they
    are (neither unposted nor posted again), byte for byte."""
    key = make_key(USER)
    memory = services.memories.create(USER, "I enjoy running").memory
    before = stored(redis_client, "running")
    resp = client.patch(f"/v1/memory/{memory.id}", json={"metadata": {"k": "v"}, "tags": ["sport"],
                                                         "scope": "gym"}, headers=auth(key))
    assert resp.status_code == 200
    assert stored(redis_client, "running") == before and services.check_consistency().ok


def test_check_names_postings_a_live_memory_should_not_have_and_reindex_drops_them(client, services, make_key,
                                                                                   redis_client):
    key = make_key(USER)
    memory = services.memories.create(USER, "a plum tree").memory
    other = services.memories.create(USER, "a fig").memory
    redis_client.hset(term_key("fig"), postings.bucket_field(other.docno),
                      postings.encode_bucket(sorted([(other.docno, 65537), (memory.docno, 65538)])))
    redis_client.hincrby(term_key("fig"), "df", 1)  # "fig" now lists the plum tree too
    problems = services.check_consistency().problems
    assert any("content has no such term" in p for p in problems), problems
    assert services.reindexer().run([USER]).postings_dropped == 1
    assert services.check_consistency().ok and ranked(client, key, "fig") == [other.id]


def test_reindex_drops_postings_of_memories_that_are_gone_and_indexes_missing_ones(client, make_key, services,
                                                                                  redis_client):
    key = make_key(USER)
    keep = services.memories.create(USER, "plum jam and plum pie").memory
    gone = services.memories.create(USER, "a plum tree in the orchard").memory
    assert client.delete(f"/v1/memory/{gone.id}", headers=auth(key)).status_code == 200
    # damage: postings left behind by the memory that is gone, and the kept one's document entry lost
    for word in ("plum", "tree", "orchard"):
        redis_client.hset(term_key(word), postings.bucket_field(gone.docno),
                          (redis_client.hget(term_key(word), postings.bucket_field(gone.docno)) or b"")
                          + postings.encode_bucket([(gone.docno, 65536 + 4)]))
        redis_client.hincrby(term_key(word), "df", 1)
    redis_client.hdel(keys.memory_docs(USER), str(keep.docno))
    assert ranked(client, key, "plum orchard") == []  # neither resolves
    problems = services.check_consistency().problems
    assert any("list documents without records" in p for p in problems), problems
    assert any(keep.id in p and "in the search index" in p for p in problems), problems

    report = services.reindexer().run([USER])
    assert report.postings_dropped == 3 and report.reindexed == 1  # plum, tree, orchard; the kept memory
    assert redis_client.exists(term_key("orchard")) == 0
    assert int(stored(redis_client, "plum")["df"]) == 1 and ranked(client, key, "plum") == [keep.id]
    assert postings.decode(list(redis_client.hgetall(term_key("plum")).items())) == [
        (str(keep.docno).encode(), 2 * 65536 + 4)]
    assert services.check_consistency().ok
    assert services.reindexer().run([USER]).reindexed == 0  # nothing left to do


def test_reindex_indexes_missing_entries_without_embedding_again(services, make_key, redis_client, monkeypatch):
    make_key(USER)
    ids = [services.memories.create(USER, f"the medlar tree number {i}").memory.id for i in range(3)]
    assert services.memories.semantic is not None  # vectors are kept: each memory has one
    redis_client.delete(keys.memory_docs(USER))  # damage: every memory's document entry is lost
    embedded: list[str] = []
    real = services.memories.embeddings
    monkeypatch.setattr(services.memories, "embeddings", lambda texts: embedded.extend(texts) or real(texts))
    assert services.reindexer().run([USER]).reindexed == 3
    assert embedded == [] and services.check_consistency().ok  # (which checks every memory has a vector)
    services.memories.store.reset_vectors(USER)  # a model change: then every memory is embedded again
    assert services.reindexer().run([USER]).reindexed == 3 and sorted(embedded) == sorted(
        services.memories.get(USER, i).content for i in ids)
