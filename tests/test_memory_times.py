"""A memory's times: occurred_at (when it happened), valid_until (from when it no longer holds) and
expires_at (when it is deleted), through every write path, checked, in history, export and import."""

from __future__ import annotations

import json
import time

import pytest

from helpers import auth

DAY = 86_400


def post(client, key, path, body, **headers):
    return client.post(path, json=body, headers=auth(key, **headers))


def test_every_time_round_trips_through_create_update_history_and_etags(client, make_key):
    key = make_key("alice")
    later = int(time.time()) + 30 * DAY
    created = post(client, key, "/v1/memory", {"content": "Dentist on the 14th", "occurred_at": 1_700_000_000,
                                               "valid_until": 1_800_000_000, "expires_at": later})
    assert created.status_code == 200, created.json
    memory = created.json
    assert (memory["occurred_at"], memory["valid_until"], memory["expires_at"]) == (1_700_000_000, 1_800_000_000,
                                                                                   later)
    assert client.get(f"/v1/memory/{memory['id']}", headers=auth(key)).json == memory
    bare = post(client, key, "/v1/memory", {"content": "Likes tea"}).json
    assert (bare["occurred_at"], bare["valid_until"], bare["expires_at"]) == (None, None, None)

    etag = created.headers["ETag"]
    changed = client.patch(f"/v1/memory/{memory['id']}", json={"valid_until": None, "expires_at": later + DAY},
                           headers=auth(key, **{"If-Match": etag}))
    assert changed.status_code == 200, changed.json
    assert changed.json["valid_until"] is None and changed.json["expires_at"] == later + DAY
    assert changed.json["occurred_at"] == 1_700_000_000 and changed.headers["ETag"] != etag
    [previous] = client.get(f"/v1/memory/{memory['id']}/history", headers=auth(key)).json["data"]
    assert (previous["valid_until"], previous["expires_at"]) == (1_800_000_000, later)
    # a revert brings the times back too
    reverted = post(client, key, f"/v1/memory/{memory['id']}/revert", {"revision": 1}).json
    assert (reverted["valid_until"], reverted["expires_at"]) == (1_800_000_000, later)


def test_a_retried_create_with_times_answers_the_same(client, make_key):
    key = make_key("alice")
    body = {"content": "Moved to Berlin", "occurred_at": 1_700_000_000}
    first = post(client, key, "/v1/memory", body, **{"Idempotency-Key": "k1"})
    again = post(client, key, "/v1/memory", body, **{"Idempotency-Key": "k1"})
    assert first.status_code == again.status_code == 200 and first.json == again.json
    assert client.get("/v1/memory", headers=auth(key)).json["data"][0]["occurred_at"] == 1_700_000_000


@pytest.mark.parametrize("field, value", [
    ("occurred_at", -1), ("occurred_at", 253_402_300_800), ("valid_until", "2024-01-01"), ("expires_at", 1.5),
    ("occurred_at", True),
])
def test_a_time_that_is_no_unix_time_is_a_400_naming_it(client, make_key, field, value):
    resp = post(client, make_key("alice"), "/v1/memory", {"content": "x", field: value})
    assert resp.status_code == 400 and resp.json["error"]["param"] == field, resp.json


def test_times_out_of_order_or_an_expiry_in_the_past_are_refused_and_nothing_is_written(client, make_key, services):
    key = make_key("alice")
    bad = post(client, key, "/v1/memory", {"content": "x", "occurred_at": 200, "valid_until": 100})
    assert bad.status_code == 400 and bad.json["error"]["param"] == "valid_until"
    past = post(client, key, "/v1/memory", {"content": "x", "expires_at": int(time.time()) - 1})
    assert past.status_code == 400 and past.json["error"]["param"] == "expires_at"
    batch = post(client, key, "/v1/memory/batch", {"memories": [
        {"content": "fine"}, {"content": "bad", "occurred_at": 300, "valid_until": 299}]})
    assert batch.status_code == 400 and batch.json["error"]["param"] == "memories[1].valid_until"
    assert services.memories.store.count("alice") == 0
    # on update, the order is checked against what the memory has
    memory = post(client, key, "/v1/memory", {"content": "y", "occurred_at": 500}).json
    resp = client.patch(f"/v1/memory/{memory['id']}", json={"valid_until": 400}, headers=auth(key))
    assert resp.status_code == 400 and resp.json["error"]["param"] == "valid_until"
    assert client.get(f"/v1/memory/{memory['id']}", headers=auth(key)).json["valid_until"] is None


def test_times_are_exported_and_imported_and_an_expired_import_is_hidden(client, make_key, services):
    key = make_key("alice")
    later = int(time.time()) + DAY
    kept = post(client, key, "/v1/memory", {"content": "Lived in Manchester", "occurred_at": 1_500_000_000,
                                            "valid_until": 1_700_000_000, "expires_at": later}).json
    lines = [json.loads(line) for line in client.get("/v1/memory/export", headers=auth(key)).get_data(as_text=True)
             .splitlines() if line.strip()]
    assert {k: lines[1][k] for k in ("occurred_at", "valid_until", "expires_at")} == {
        "occurred_at": 1_500_000_000, "valid_until": 1_700_000_000, "expires_at": later}
    bob = make_key("bob")
    gone = dict(lines[1], id=kept["id"][:-4] + "ZZZZ", content="An expired note", expires_at=1_000)
    body = "\n".join(json.dumps(line) for line in [lines[0], lines[1], gone])
    resp = client.post("/v1/memory/import", data=body, headers=auth(bob, **{"Content-Type": "application/x-ndjson"}))
    assert resp.status_code == 200 and resp.json["created"] == 2, resp.json
    listed = client.get("/v1/memory", headers=auth(bob)).json["data"]
    assert [m["id"] for m in listed] == [kept["id"]] and listed[0]["valid_until"] == 1_700_000_000
    assert client.get(f"/v1/memory/{gone['id']}", headers=auth(bob)).status_code == 404  # past its expiry
    bad = dict(lines[1], valid_until=1)
    resp = client.post("/v1/memory/import", data="\n".join([json.dumps(lines[0]), json.dumps(bad)]),
                       headers=auth(bob, **{"Content-Type": "application/x-ndjson"}))
    assert resp.status_code == 400 and resp.json["error"]["param"] == "line 2.valid_until"


def test_mcp_and_the_python_client_carry_the_times(services, make_key, live_server):
    import anyio
    from mcp import Client

    from memory_api.client import MemoryAPI
    from memory_api.mcp.server import build_mcp_server

    later = int(time.time()) + DAY

    async def scenario():
        async with Client(build_mcp_server(services, user="alice")) as mcp:
            added = (await mcp.call_tool("add_memory", {"content": "Trip to Lisbon", "occurred_at": 1_700_000_000,
                                                        "expires_at": later})).structured_content
            memory = added["memory"]
            assert (memory["occurred_at"], memory["valid_until"], memory["expires_at"]) == (1_700_000_000, None,
                                                                                           later)
            updated = (await mcp.call_tool("update_memory", {"memory_id": memory["id"], "valid_until": 1_800_000_000,
                                                             "clear_times": ["expires_at"]})).structured_content
            assert (updated["valid_until"], updated["expires_at"]) == (1_800_000_000, None)

    anyio.run(scenario)

    client = MemoryAPI(base_url=f"{live_server.url}/v1", api_key=make_key("carol"))
    created = client.memory.create(content="Owns a bike", occurred_at=1_600_000_000, expires_at=later)
    assert (created.occurred_at, created.expires_at) == (1_600_000_000, later)
    cleared = client.memory.update(created.id, expires_at=None)
    assert cleared.expires_at is None and cleared.occurred_at == 1_600_000_000
    client.close()


def test_as_of_and_the_occurred_filters_on_list_search_and_context(client, make_key):
    key = make_key("alice")
    manchester = post(client, key, "/v1/memory", {"content": "I live in Manchester", "occurred_at": 1_500_000_000,
                                                  "valid_until": 1_700_000_000}).json
    berlin = post(client, key, "/v1/memory", {"content": "I live in Berlin now", "occurred_at": 1_700_000_000}).json
    timeless = post(client, key, "/v1/memory", {"content": "I live for good coffee"}).json

    def listed(**query):
        return [m["id"] for m in client.get("/v1/memory", query_string=query, headers=auth(key)).json["data"]]

    def searched(**query):
        resp = client.get("/v1/memory/search", query_string={"query": "where do I live", "mode": "keyword", **query},
                          headers=auth(key))
        assert resp.status_code == 200, resp.json
        return sorted(m["id"] for m in resp.json["data"])

    assert set(listed()) == {manchester["id"], berlin["id"], timeless["id"]}  # listing shows what no longer holds
    assert set(listed(include_invalid="false")) == {berlin["id"], timeless["id"]}
    assert searched() == sorted([berlin["id"], timeless["id"]])  # search: what holds now
    assert searched(include_invalid="true") == sorted([manchester["id"], berlin["id"], timeless["id"]])
    assert searched(as_of=1_600_000_000) == sorted([manchester["id"], timeless["id"]])  # what held then
    assert searched(occurred_after=1_600_000_000) == [berlin["id"]]
    assert set(listed(occurred_before=1_600_000_000)) == {manchester["id"]}
    block = post(client, key, "/v1/memory/context", {"query": "where do I live", "mode": "keyword"}).json
    assert set(block["memory_ids"]) == {berlin["id"], timeless["id"]}
    then = post(client, key, "/v1/memory/context", {"query": "where do I live", "mode": "keyword",
                                                    "as_of": 1_600_000_000}).json
    assert set(then["memory_ids"]) == {manchester["id"], timeless["id"]}
    bad = client.get("/v1/memory", query_string={"as_of": "soon"}, headers=auth(key))
    assert bad.status_code == 400 and bad.json["error"]["param"] == "as_of"


def test_a_memory_that_no_longer_holds_is_not_injected_unless_asked_for(client, make_key, fake_llm, settings):
    from memory_api import create_app

    from helpers import with_provider

    app = create_app(with_provider(settings, fake_llm))
    chat = app.test_client()
    key = make_key("alice")
    old = post(chat, key, "/v1/memory", {"content": "My office is in Leeds", "valid_until": 1_700_000_000}).json
    new = post(chat, key, "/v1/memory", {"content": "My office is in York"}).json
    ask = {"messages": [{"role": "user", "content": "where is my office?"}]}
    assert chat.post("/v1/chat/completions", json=ask, headers=auth(key)).json["memory"]["injected_ids"] == [new["id"]]
    both = chat.post("/v1/chat/completions", json={**ask, "memory": {"include_invalid": True}}, headers=auth(key))
    assert set(both.json["memory"]["injected_ids"]) == {old["id"], new["id"]}
    bad = chat.post("/v1/chat/completions", json={**ask, "memory": {"as_of": -5}}, headers=auth(key))
    assert bad.status_code == 400 and bad.json["error"]["param"] == "memory.as_of"
    app.extensions["memory_api"].close()


def test_an_expiring_memory_disappears_from_every_read_at_its_second(client, make_key):
    from helpers import wait_until

    key = make_key("alice")
    expires = int(time.time()) + 2
    memory = post(client, key, "/v1/memory", {"content": "Dentist at 3pm today", "expires_at": expires}).json
    assert client.get(f"/v1/memory/{memory['id']}", headers=auth(key)).status_code == 200
    wait_until(lambda: time.time() >= expires, timeout=10, what="the expiry second")
    assert client.get(f"/v1/memory/{memory['id']}", headers=auth(key)).status_code == 404
    assert client.get("/v1/memory", headers=auth(key)).json["data"] == []
    found = client.get("/v1/memory/search", query_string={"query": "dentist", "mode": "keyword"}, headers=auth(key))
    assert found.json["data"] == []
    block = post(client, key, "/v1/memory/context", {"query": "dentist", "mode": "keyword"}).json
    assert block["memory_ids"] == []
    exported = client.get("/v1/memory/export", headers=auth(key)).get_data(as_text=True).splitlines()
    assert len(exported) == 1  # the format line only


def test_check_verifies_the_time_indexes_and_reindex_rebuilds_them(services, make_key, redis_client):
    from memory_api.store import keys

    make_key("alice")
    later = int(time.time()) + DAY
    kept = services.memories.create("alice", "Lease ends in March", times={"occurred_at": 1_700_000_000,
                                                                             "expires_at": later}).memory
    other = services.memories.create("alice", "Has a bike").memory
    assert services.check_consistency().ok
    redis_client.zrem(keys.memory_occurred("alice"), kept.id)  # an entry lost
    redis_client.zadd(keys.memory_valid_until("alice"), {other.id: 5})  # an entry without that time
    redis_client.zadd(keys.memory_expires("alice"), {kept.id: 7})  # a wrong one
    problems = services.check_consistency().problems
    assert any(kept.id in p and "occurred index" in p for p in problems), problems
    assert any(other.id in p and "valid-until index without that time" in p for p in problems), problems
    assert any(kept.id in p and "expiry index says 7" in p for p in problems), problems
    report = services.reindexer().run(["alice"])
    assert report.time_entries_dropped == 1 and report.reindexed == 1
    assert services.check_consistency().ok
    assert services.memories.get("alice", kept.id).expires_at == later  # (the wrong entry did not hide it)
