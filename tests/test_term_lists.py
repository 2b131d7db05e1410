"""A memory's search terms are recomputed from its record when it leaves the index (store/memories.py
`_indexed_terms`), instead of being stored beside it: every write still takes it out of exactly the
postings it was in, memories stored with a term list (before) keep working, and `memory-api reindex`
reclaims those lists and sweeps postings left by a memory whose terms came out otherwise."""

from __future__ import annotations

import json

from helpers import auth
from memory_api.services.memories import indexed
from memory_api.store import keys, postings
from test_postings import ranked, stored, term_key
from test_reindex import store_as_before_stemming

USER = "alice"


def term_lists(redis_client) -> dict[str, str]:
    return {k.decode(): v.decode() for k, v in redis_client.hgetall(keys.memory_terms(USER)).items()}


def posting_keys(redis_client) -> set[str]:
    return {k.decode() for k in redis_client.scan_iter(match=keys.user_keys_pattern(USER, keys.TERM_SUFFIX))}


def with_term_list(services, redis_client, content: str) -> str:
    """A memory stored the way the previous version did: the same postings, plus its term list."""
    memory = services.memories.create(USER, content).memory
    redis_client.hset(keys.memory_terms(USER), str(memory.docno), indexed(content).terms)
    return memory.id


def test_no_write_keeps_a_term_list_and_every_write_leaves_exactly_its_postings(client, make_key, services,
                                                                                redis_client):
    key = make_key(USER)
    h = auth(key)
    first = client.post("/v1/memory", json={"content": "Fay is allergic to peanuts"}, headers=h).json
    batch = client.post("/v1/memory/batch", json={"memories": [{"content": "The walnut tree by the shed"},
                                                            {"content": "Buy almond milk on Friday"}]},
                        headers=h)
    assert batch.status_code in (200, 201), batch.json
    ids = [item["id"] for item in batch.json["data"]]
    assert term_lists(redis_client) == {}
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
    assert services.check_consistency().ok and term_lists(redis_client) == {}
    resp = client.post("/v1/memory/batch_delete", json={"ids": [ids[1]]}, headers=h)
    assert resp.status_code == 200 and resp.json["data"][0]["deleted"]
    assert redis_client.exists(term_key("almond")) == 0
    for memory_id in (first["id"], ids[0]):
        assert client.delete(f"/v1/memory/{memory_id}", headers=h).status_code == 200
    assert posting_keys(redis_client) == set() and services.check_consistency().ok


def test_memories_with_term_lists_keep_working_and_reindex_reclaims_the_lists(client, make_key, services,
                                                                             redis_client):
    key = make_key(USER)
    h = auth(key)
    listed = [with_term_list(services, redis_client, f"the quince jelly jar {i}") for i in range(3)]
    plain = services.memories.create(USER, "a quince tart").memory.id
    assert len(term_lists(redis_client)) == 3 and services.check_consistency().ok
    # a damaged list is named by check (it is what a write would unindex with)
    docno = next(iter(term_lists(redis_client)))
    good = term_lists(redis_client)[docno]
    redis_client.hset(keys.memory_terms(USER), docno, "quinc 1")
    assert any("term list does not match" in p for p in services.check_consistency().problems)
    redis_client.hset(keys.memory_terms(USER), docno, good)

    assert client.delete(f"/v1/memory/{listed[0]}", headers=h).status_code == 200  # unindexed by its list
    resp = client.patch(f"/v1/memory/{listed[1]}", json={"content": "a pear"}, headers=h)
    assert resp.status_code == 200
    assert len(term_lists(redis_client)) == 1  # each write took its list away and wrote none
    assert sorted(ranked(client, key, "quince")) == sorted([listed[2], plain])
    assert redis_client.exists(term_key("jelly")) == 1 and services.check_consistency().ok

    report = services.reindexer().run([USER])
    assert report.reindexed == 1 and report.postings_swept == 0
    assert term_lists(redis_client) == {} and services.check_consistency().ok
    assert sorted(ranked(client, key, "quince")) == sorted([listed[2], plain])
    assert services.reindexer().run([USER]).reindexed == 0


def test_a_memory_under_older_rules_keeps_its_term_list_until_reindexed(client, make_key, services,
                                                                        redis_client):
    key = make_key(USER)
    old = store_as_before_stemming(services, USER, "I am allergic to peanuts.")
    assert set(term_lists(redis_client).values()) == {"allergic 1 peanuts 1"}
    # its terms cannot be recomputed (rules 1 are not kept): a metadata change keeps the list
    resp = client.patch(f"/v1/memory/{old.id}", json={"metadata": {"k": "v"}}, headers=auth(key))
    assert resp.status_code == 200
    assert set(term_lists(redis_client).values()) == {"allergic 1 peanuts 1"}
    redis_client.hdel(keys.memory_terms(USER), str(old.docno))
    assert any("has no term list" in p for p in services.check_consistency().problems)


def test_a_memory_whose_terms_came_out_otherwise_is_still_deleted_and_reindex_sweeps_what_it_left(
        client, make_key, services, redis_client):
    """As after an upgrade that stems a word differently, or a record naming rules this code lacks: the
    write goes through; the postings it could not find stay, listing a document that is gone, until reindex."""
    key = make_key(USER)
    keep = services.memories.create(USER, "plum jam and plum pie").memory.id
    gone = services.memories.create(USER, "a plum tree in the orchard").memory
    raw = json.loads(redis_client.hget(keys.memory_items(USER), gone.id))
    raw["v"] = 99  # rules from a future version, and no term list
    redis_client.hset(keys.memory_items(USER), gone.id, json.dumps(raw, separators=(",", ":")))
    assert client.delete(f"/v1/memory/{gone.id}", headers=auth(key)).status_code == 200
    assert ranked(client, key, "plum orchard") == [keep]  # the stray postings resolve to nothing
    problems = services.check_consistency().problems
    assert any("list documents without records" in p for p in problems), problems
    assert int(stored(redis_client, "plum")["df"]) == 2

    # a one-field posting from before buckets that is also stray
    redis_client.hset(term_key("plum"), "999999", 65536 + 3)
    report = services.reindexer().run([USER])
    assert report.postings_swept == 4  # plum, tree, orchard, and the one-field plum
    assert services.check_consistency().ok
    assert redis_client.exists(term_key("orchard")) == 0
    assert int(stored(redis_client, "plum")["df"]) == 1 and ranked(client, key, "plum") == [keep]
    assert postings.decode(list(redis_client.hgetall(term_key("plum")).items())) == [
        (str(services.memories.get(USER, keep).docno).encode(), 2 * 65536 + 4)]


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


def docs_listed(redis_client, term: str) -> set[str]:
    key = keys.term_postings(USER, term)
    return {docno.decode() for docno, _ in postings.decode(list(redis_client.hgetall(key).items()))}


def test_a_reindex_racing_a_content_update_leaves_the_update_indexed(client, make_key, services, redis_client):
    key = make_key(USER)
    memory_id = with_term_list(services, redis_client, "the quince jelly jar")
    store = services.memories.store
    original = store.term_lists

    def racing(user, ids):  # the reindex has read its page; a user's write lands before it re-indexes
        listed = original(user, ids)
        services.memories.update(USER, memory_id, {"content": "a pear tart"})
        return listed

    store.term_lists = racing
    try:
        report = services.reindexer().run([USER])
    finally:
        store.term_lists = original
    assert report.reindexed == 0  # planned from content that is gone: the update's indexing stands
    assert ranked(client, key, "pear") == [memory_id] and ranked(client, key, "quince") == []
    assert services.check_consistency().ok


def test_an_update_that_keeps_the_content_keeps_the_postings(client, make_key, services, redis_client,
                                                             monkeypatch):
    """Were a word analysed otherwise after an upgrade, a metadata change or a vector-only re-index must not
    leave a live memory half under the old analysis and half under the new."""
    from memory_api import text as text_module

    key = make_key(USER)
    memory = services.memories.create(USER, "I enjoy running").memory
    assert docs_listed(redis_client, "run") == {str(memory.docno)}
    real_stem = text_module.stem
    monkeypatch.setattr(text_module, "stem", lambda w: w if w == "running" else real_stem(w))
    resp = client.patch(f"/v1/memory/{memory.id}", json={"metadata": {"k": "v"}, "tags": ["sport"]},
                        headers=auth(key))
    assert resp.status_code == 200
    services.memories.store.reindex(USER, memory.id, memory.content, indexed(memory.content))
    assert docs_listed(redis_client, "run") == {str(memory.docno)}
    assert redis_client.exists(keys.term_postings(USER, "running")) == 0
    monkeypatch.undo()
    assert services.check_consistency().ok


def test_an_empty_term_list_is_reclaimed_too(services, make_key, redis_client):
    make_key(USER)
    with_term_list(services, redis_client, "the and of")  # no terms: the previous version wrote ''
    assert set(term_lists(redis_client).values()) == {""}
    assert services.reindexer().run([USER]).reindexed == 1
    assert term_lists(redis_client) == {} and services.check_consistency().ok


def test_check_names_postings_a_live_memory_should_not_have(services, make_key, redis_client):
    make_key(USER)
    memory = services.memories.create(USER, "a plum tree").memory
    other = services.memories.create(USER, "a fig").memory
    redis_client.hset(term_key("fig"), postings.bucket_field(other.docno),
                      postings.encode_bucket(sorted([(other.docno, 65537), (memory.docno, 65538)])))
    redis_client.hincrby(term_key("fig"), "df", 1)  # "fig" now lists the plum tree too
    problems = services.check_consistency().problems
    assert any("content has no such term" in p for p in problems), problems


def test_reindex_reclaims_term_lists_without_embedding_again(services, make_key, redis_client, monkeypatch):
    make_key(USER)
    ids = [with_term_list(services, redis_client, f"the medlar tree number {i}") for i in range(3)]
    assert services.memories.semantic is not None  # vectors are kept: each memory has one
    embedded: list[str] = []
    real = services.memories.embeddings
    monkeypatch.setattr(services.memories, "embeddings", lambda texts: embedded.extend(texts) or real(texts))
    assert services.reindexer().run([USER]).reindexed == 3
    assert embedded == [] and term_lists(redis_client) == {}
    assert services.check_consistency().ok  # (which checks every memory has a vector)
    services.memories.store.reset_vectors(USER)  # a model change: then every memory is embedded again
    assert services.reindexer().run([USER]).reindexed == 3 and sorted(embedded) == sorted(
        services.memories.get(USER, i).content for i in ids)
