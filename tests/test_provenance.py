"""Provenance on every memory, the activity feed (GET /v1/memory/events) and revert (issue 13)."""

from __future__ import annotations

import json

import pytest

from helpers import auth
from memory_api.models import Provenance


def create(client, key, content, **extra):
    resp = client.post("/v1/memory", json={"content": content, **extra}, headers=auth(key))
    assert resp.status_code == 200, resp.json
    return resp.json


def events(client, key, query=""):
    resp = client.get(f"/v1/memory/events{query}", headers=auth(key))
    assert resp.status_code == 200, resp.json
    return resp.json


def key_id_of(services, secret):
    return services.keys.authenticate(f"Bearer {secret}", None).key_id


def test_every_memory_says_where_it_came_from(client, make_key, services):
    key = make_key("alice")
    memory = create(client, key, "I prefer window seats")
    assert (memory["source"], memory["origin"], memory["reason"]) == ("api", None, None)
    # The service's own writes (automatic capture) keep the conversation turn and their reason.
    auto = services.memories.create(
        "alice", "Alice is training for a marathon in May",
        by=Provenance(source="auto", reason="the user said they are training", conversation_id="conv_1",
                      turn=3)).memory
    got = client.get(f"/v1/memory/{auto.id}", headers=auth(key)).json
    assert got["source"] == "auto"
    assert got["origin"] == {"conversation_id": "conv_1", "turn": 3}
    assert got["reason"] == "the user said they are training"
    # An update through the API makes the latest version the user's own again.
    updated = client.patch(f"/v1/memory/{auto.id}", json={"content": "Marathon in June"}, headers=auth(key)).json
    assert (updated["source"], updated["origin"], updated["reason"]) == ("api", None, None)
    history = client.get(f"/v1/memory/{auto.id}/history", headers=auth(key)).json["data"]
    assert [(v["source"], v["reason"]) for v in history] == [("auto", "the user said they are training")]


def test_list_and_search_filter_on_source(client, make_key, services):
    key = make_key("alice")
    mine = create(client, key, "My bike is a green gravel bike")
    auto = services.memories.create("alice", "Alice rides her gravel bike to work",
                                    by=Provenance(source="auto", reason="mentioned")).memory
    imported = client.post("/v1/memory/import", headers={**auth(key), "Content-Type": "application/x-ndjson"},
                           data=json.dumps({"object": "memory.export", "format": "memory-api.memories", "version": 1}) + "\n"
                           + json.dumps({"id": "mem_01JDQ3R8X0V2W9Y7Z6A5B4C3D2", "created_at": 0, "updated_at": 0,
                                         "content": "Gravel bike tyres are 45 mm"}) + "\n")
    assert imported.status_code == 200, imported.json

    def listed(source):
        return [m["id"] for m in client.get(f"/v1/memory?source={source}", headers=auth(key)).json["data"]]

    assert listed("api") == [mine["id"]]
    assert listed("auto") == [auto.id]
    assert listed("import") == ["mem_01JDQ3R8X0V2W9Y7Z6A5B4C3D2"]
    assert listed("mcp") == []
    for mode in ("keyword", "hybrid"):
        found = client.get(f"/v1/memory/search?query=gravel+bike&mode={mode}&source=auto", headers=auth(key)).json
        assert [m["id"] for m in found["data"]] == [auto.id], mode
        body = {"query": "gravel bike", "mode": mode, "source": "import"}
        found = client.post("/v1/memory/search", json=body, headers=auth(key)).json
        assert [m["id"] for m in found["data"]] == ["mem_01JDQ3R8X0V2W9Y7Z6A5B4C3D2"], mode
    bad = client.get("/v1/memory?source=robot", headers=auth(key))
    assert bad.status_code == 400 and bad.json["error"]["param"] == "source"


def test_the_feed_records_every_write_with_its_source_and_actor(client, make_key, services):
    key = make_key("alice")
    actor = key_id_of(services, key)
    a = create(client, key, "I live in Porto")
    client.patch(f"/v1/memory/{a['id']}", json={"content": "I live in Lisbon"}, headers=auth(key))
    services.memories.create("alice", "Alice has a cat named Miso",
                             by=Provenance(source="auto", reason="she mentioned her cat", conversation_id="conv_9",
                                           turn=1))
    client.delete(f"/v1/memory/{a['id']}", headers=auth(key))
    feed = events(client, key)
    assert [(e["type"], e["source"], e["revision"]) for e in feed["data"]] == [
        ("memory.deleted", "api", 2), ("memory.created", "auto", 1), ("memory.updated", "api", 2),
        ("memory.created", "api", 1)]
    deleted, captured, updated, created = feed["data"]
    assert created["memory_id"] == updated["memory_id"] == deleted["memory_id"] == a["id"]
    assert created["actor"] == updated["actor"] == deleted["actor"] == actor
    assert captured["actor"] is None and captured["reason"] == "she mentioned her cat"
    assert captured["origin"] == {"conversation_id": "conv_9", "turn": 1}
    assert all(e["object"] == "memory.event" and e["id"].startswith("evt_") for e in feed["data"])
    assert feed["first_id"] == deleted["id"] and feed["has_more"] is False
    # Another user sees none of it.
    assert events(client, make_key("bob"))["data"] == []


def test_the_feed_pages_with_cursors_both_ways(client, make_key):
    key = make_key("alice")
    for i in range(7):
        create(client, key, f"note number {i}")
    everything = [e["id"] for e in events(client, key, "?limit=100")["data"]]
    assert len(everything) == 7
    seen, after = [], None
    while True:
        page = events(client, key, "?limit=3" + (f"&after={after}" if after else ""))
        seen += [e["id"] for e in page["data"]]
        if not page["has_more"]:
            break
        after = page["last_id"]
    assert seen == everything
    oldest_first = [e["id"] for e in events(client, key, "?order=asc&limit=100")["data"]]
    assert oldest_first == everything[::-1]
    before = events(client, key, f"?limit=2&before={everything[4]}")["data"]
    assert [e["id"] for e in before] == everything[2:4]
    between = events(client, key, f"?after={everything[1]}&before={everything[5]}")["data"]
    assert [e["id"] for e in between] == everything[2:5]
    # The very ends of the id space: nothing beyond them, not a Redis error.
    assert events(client, key, "?after=evt_0-0")["data"] == []
    assert events(client, key, "?order=asc&after=evt_18446744073709551615-18446744073709551615")["data"] == []
    assert len(events(client, key, "?order=asc&after=evt_0-0")["data"]) == 7
    for query, param in (("?after=mem_nope", "after"), ("?after=evt_1-0&before=evt_2-0", "before"),
                         ("?after=evt_18446744073709551616-0", "after")):
        bad = client.get(f"/v1/memory/events{query}", headers=auth(key))
        assert bad.status_code == 400 and bad.json["error"]["param"] == param, bad.json


def test_the_feed_keeps_about_the_configured_number_of_entries(settings, services, redis_client):
    from memory_api.services import Services

    small = Services.build(settings.__class__(**{**settings.__dict__, "events_kept": 5}))
    try:
        for i in range(400):
            small.memories.create("carol", f"a note, {i}")
        kept = small.events.list("carol", limit=100).items
        # MAXLEN ~ trims whole stream nodes: at least the last 5, far fewer than 400
        assert 5 <= len(kept) < 400
        assert kept[0].to_api()["memory_id"] == small.memories.list("carol", limit=1).items[0].id
    finally:
        small.close()
    off = Services.build(settings.__class__(**{**settings.__dict__, "events_kept": 0}))
    try:
        off.memories.create("dave", "nothing to see")
        assert off.events.list("dave").items == []
    finally:
        off.close()


def test_revert_restores_a_previous_version(client, make_key):
    key = make_key("alice")
    m = create(client, key, "I am vegetarian", tags=["food"])
    client.patch(f"/v1/memory/{m['id']}", json={"content": "I am vegan", "tags": ["diet"], "scope": "home"},
                 headers=auth(key))
    resp = client.post(f"/v1/memory/{m['id']}/revert", json={"revision": 1}, headers=auth(key))
    assert resp.status_code == 200, resp.json
    reverted = resp.json
    assert (reverted["content"], reverted["tags"], reverted["scope"]) == ("I am vegetarian", ["food"], None)
    assert reverted["reason"] == "reverted to revision 1" and reverted["source"] == "api"
    assert resp.headers["ETag"]
    history = client.get(f"/v1/memory/{m['id']}/history", headers=auth(key)).json["data"]
    assert [v["content"] for v in history] == ["I am vegan", "I am vegetarian"]  # a revert can be reverted
    found = client.get("/v1/memory/search?query=vegetarian&mode=keyword", headers=auth(key)).json["data"]
    assert [f["id"] for f in found] == [m["id"]]  # the index follows the restored content
    feed = events(client, key)["data"]
    assert (feed[0]["type"], feed[0]["reason"]) == ("memory.updated", "reverted to revision 1")


@pytest.mark.parametrize("body, status, code", [
    ({"revision": 7}, 404, "revision_not_found"),
    ({"revision": 0}, 400, None),
    ({"revision": "1"}, 400, None),
    ({}, 400, None),
])
def test_revert_refuses_what_history_does_not_hold(client, make_key, body, status, code):
    key = make_key("alice")
    m = create(client, key, "first")
    client.patch(f"/v1/memory/{m['id']}", json={"content": "second"}, headers=auth(key))
    resp = client.post(f"/v1/memory/{m['id']}/revert", json=body, headers=auth(key))
    assert resp.status_code == status, resp.json
    assert resp.json["error"]["param"] == "revision"
    if code:
        assert resp.json["error"]["code"] == code
    assert client.get(f"/v1/memory/{m['id']}", headers=auth(key)).json["content"] == "second"


def test_revert_honours_if_match(client, make_key):
    key = make_key("alice")
    m = create(client, key, "first")
    client.patch(f"/v1/memory/{m['id']}", json={"content": "second"}, headers=auth(key))
    stale = client.post(f"/v1/memory/{m['id']}/revert", json={"revision": 1},
                        headers={**auth(key), "If-Match": '"1.1"'})
    assert stale.status_code == 412
    assert client.get(f"/v1/memory/{m['id']}", headers=auth(key)).json["content"] == "second"


def test_mcp_writes_are_marked_mcp_and_can_revert(services, client, make_key):
    import anyio
    from mcp import Client
    from typing import get_args

    from memory_api.mcp.outputs import Source
    from memory_api.models import SOURCES
    from memory_api.mcp.server import build_mcp_server

    assert get_args(Source) == SOURCES  # the MCP schema's enum is the service's list
    key = make_key("alice")
    server = build_mcp_server(services, user="alice")

    async def scenario():
        async with Client(server) as mcp:
            added = (await mcp.call_tool("add_memory", {"content": "Alice drinks oat milk"})).structured_content
            memory_id = added["memory"]["id"]
            assert added["memory"]["source"] == "mcp"
            await mcp.call_tool("update_memory", {"memory_id": memory_id, "content": "Alice drinks soy milk"})
            listed = (await mcp.call_tool("list_memories", {"source": "mcp"})).structured_content
            assert [m["id"] for m in listed["memories"]] == [memory_id]
            reverted = (await mcp.call_tool("revert_memory", {"memory_id": memory_id, "revision": 1})
                        ).structured_content
            assert (reverted["content"], reverted["reason"]) == ("Alice drinks oat milk", "reverted to revision 1")
            return memory_id

    memory_id = anyio.run(scenario)
    feed = events(client, key)["data"]
    assert [(e["type"], e["source"], e["actor"]) for e in feed] == [
        ("memory.updated", "mcp", None), ("memory.updated", "mcp", None), ("memory.created", "mcp", None)]
    assert {e["memory_id"] for e in feed} == {memory_id}
