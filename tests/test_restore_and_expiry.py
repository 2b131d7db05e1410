"""A delete can be undone for MEMORY_API_DELETED_RETENTION_SECONDS (POST /v1/memory/{id}/restore, the MCP
tool, the client), and the capture worker's sweeper deletes memories past their expires_at, through the
same delete: in the activity feed as source `expiry`, and restorable."""

from __future__ import annotations

import dataclasses
import threading
import time

import anyio
import pytest
from mcp import Client

from helpers import auth
from memory_api import create_app
from memory_api.cli.worker import ExpirySweeps
from memory_api.mcp.server import build_mcp_server
from memory_api.services import Services
from memory_api.services.expiry import ExpirySweeper
from memory_api.store import keys
from memory_api.store.sweep_lock import SweepLock

DAY = 86_400


def create(client, key, **body):
    resp = client.post("/v1/memory", json=body, headers=auth(key))
    assert resp.status_code == 200, resp.json
    return resp.json


def restore(client, key, memory_id):
    return client.post(f"/v1/memory/{memory_id}/restore", headers=auth(key))


def feed(client, key):
    return [(e["type"], e["source"], e["reason"]) for e in
            client.get("/v1/memory/events?order=asc", headers=auth(key)).json["data"]]


def keyword_hits(client, key, query):
    resp = client.post("/v1/memory/search", json={"query": query, "mode": "keyword"}, headers=auth(key))
    return [m["id"] for m in resp.json["data"]]


def test_a_deleted_memory_comes_back_with_its_id_history_and_indexes(client, services, make_key):
    key = make_key("alice")
    memory = create(client, key, content="Alice keeps bees on the roof", tags=["hobby"], metadata={"hives": "2"},
                    occurred_at=1_700_000_000)
    updated = client.patch(f"/v1/memory/{memory['id']}", json={"content": "Alice keeps three hives of bees"},
                           headers=auth(key)).json
    assert client.delete(f"/v1/memory/{memory['id']}", headers=auth(key)).json["deleted"] is True
    assert client.get(f"/v1/memory/{memory['id']}", headers=auth(key)).status_code == 404
    assert keyword_hits(client, key, "hives bees") == []

    resp = restore(client, key, memory["id"])
    assert resp.status_code == 200, resp.json
    back = resp.json
    assert back["id"] == memory["id"] and back["updated_at"] >= updated["updated_at"]
    assert (back["content"], back["tags"], back["metadata"], back["occurred_at"]) == (
        "Alice keeps three hives of bees", ["hobby"], {"hives": "2"}, 1_700_000_000)
    assert back["reason"] == "restored after deletion"
    assert resp.headers["ETag"] == client.get(f"/v1/memory/{memory['id']}", headers=auth(key)).headers["ETag"]
    assert client.get(f"/v1/memory/{memory['id']}", headers=auth(key)).json == back
    assert keyword_hits(client, key, "hives bees") == [memory["id"]]
    history = client.get(f"/v1/memory/{memory['id']}/history", headers=auth(key)).json["data"]
    assert [v["content"] for v in history] == ["Alice keeps bees on the roof"]
    assert [t for t, _, _ in feed(client, key)] == ["memory.created", "memory.updated", "memory.deleted",
                                                     "memory.created"]
    assert services.check_consistency().ok

    # Only a kept delete can be undone
    again = restore(client, key, memory["id"])
    assert again.status_code == 409 and again.json["error"]["code"] == "memory_exists"
    never = restore(client, key, "mem_" + "0" * 26)
    assert never.status_code == 404 and never.json["error"]["code"] == "memory_not_found"
    bad = restore(client, key, "not-an-id")
    assert bad.status_code == 400 and bad.json["error"]["param"] == "memory_id"


def test_a_restore_is_per_user(client, make_key):
    alice, bob = make_key("alice"), make_key("bob")
    memory = create(client, alice, content="Alice's locker code is 4312")
    client.delete(f"/v1/memory/{memory['id']}", headers=auth(alice))
    stolen = restore(client, bob, memory["id"])
    assert stolen.status_code == 404 and stolen.json["error"]["code"] == "memory_not_found"
    assert restore(client, alice, memory["id"]).status_code == 200


def test_a_deleted_memory_is_kept_only_for_the_retention(settings, make_key, redis_client):
    services = Services.build(dataclasses.replace(settings, deleted_retention_seconds=1))
    try:
        client = create_app(settings, services).test_client()
        key = make_key("alice")
        memory = create(client, key, content="A note kept for a second")
        client.delete(f"/v1/memory/{memory['id']}", headers=auth(key))
        assert redis_client.ttl(keys.memory_history("alice", memory["id"])) == 1
        time.sleep(1.2)
        gone = restore(client, key, memory["id"])
        assert gone.status_code == 404 and gone.json["error"]["code"] == "memory_not_found"
    finally:
        services.close()


def test_with_no_retention_a_delete_is_final(settings, make_key, redis_client):
    services = Services.build(dataclasses.replace(settings, deleted_retention_seconds=0))
    try:
        client = create_app(settings, services).test_client()
        key = make_key("alice")
        memory = create(client, key, content="Forget this at once")
        client.patch(f"/v1/memory/{memory['id']}", json={"content": "Forget this now"}, headers=auth(key))
        client.delete(f"/v1/memory/{memory['id']}", headers=auth(key))
        assert not redis_client.exists(keys.memory_history("alice", memory["id"]))
        assert restore(client, key, memory["id"]).status_code == 404
        assert services.check_consistency().ok
    finally:
        services.close()


def test_a_restore_over_quota_is_refused_and_changes_nothing(settings, make_key):
    services = Services.build(dataclasses.replace(settings, quota_memories=1))
    try:
        client = create_app(settings, services).test_client()
        key = make_key("alice")
        first = create(client, key, content="The first memory")
        client.delete(f"/v1/memory/{first['id']}", headers=auth(key))
        create(client, key, content="The second memory takes its place")
        full = restore(client, key, first["id"])
        assert full.status_code in (409, 413, 429) and full.json["error"]["code"], full.json
        assert client.get(f"/v1/memory/{first['id']}", headers=auth(key)).status_code == 404
        client.delete("/v1/memory?confirm=true", headers=auth(key))
        assert restore(client, key, first["id"]).status_code == 200  # still kept, and now it fits
    finally:
        services.close()


def test_the_sweeper_deletes_what_expired_as_source_expiry_and_it_can_be_restored(client, services, make_key):
    key = make_key("alice")
    now = int(time.time())
    soon = create(client, key, content="Parking ticket valid today", expires_at=now + DAY)
    coupon_expiry = int(time.time()) + 2
    passed = create(client, key, content="Coupon valid for two seconds", expires_at=coupon_expiry)
    later = create(client, key, content="Conference pass for next month", expires_at=now + 30 * DAY)
    kept = create(client, key, content="Allergic to peanuts")
    moved = create(client, key, content="Gym pass", expires_at=now + DAY)
    client.patch(f"/v1/memory/{moved['id']}", json={"expires_at": now + 60 * DAY}, headers=auth(key))

    time.sleep(max(0.0, coupon_expiry + 0.05 - time.time()))
    assert services.expiry.sweep() == 1  # this second's: the coupon
    assert services.expiry.sweep(now=now + DAY) == 1
    ids = {m["id"] for m in client.get("/v1/memory", headers=auth(key)).json["data"]}
    assert ids == {later["id"], kept["id"], moved["id"]}
    assert feed(client, key)[-1] == ("memory.deleted", "expiry", "expired")
    assert services.expiry.sweep(now=now + DAY) == 0  # nothing left to do
    assert services.check_consistency().ok

    # Restored, a memory whose expiry has passed comes back without one (or it would be swept again)
    coupon = restore(client, key, passed["id"]).json
    assert coupon["content"] == "Coupon valid for two seconds" and coupon["expires_at"] is None
    ticket = restore(client, key, soon["id"]).json  # swept early here: its expiry is still ahead
    assert ticket["expires_at"] == now + DAY
    assert services.expiry.sweep(now=now + 31 * DAY) == 2  # the ticket and the conference pass
    assert services.check_consistency().ok


def test_one_sweeper_at_a_time(services, client, make_key, redis_client):
    key = make_key("alice")
    now = int(time.time())
    create(client, key, content="Expires tomorrow", expires_at=now + DAY)
    other = ExpirySweeper(services.memories.store, SweepLock(services.redis), every=60)
    assert SweepLock(services.redis).acquire("someone else", seconds=60)
    assert other.sweep(now=now + DAY) == 0  # another process holds the lock
    assert redis_client.get(keys.expiry_sweep_lock()) == b"someone else"  # and keeps it
    redis_client.delete(keys.expiry_sweep_lock())
    assert other.sweep(now=now + DAY) == 1
    assert redis_client.get(keys.expiry_sweep_lock()) is None  # released


def test_the_workers_sweeper_thread_deletes_at_the_expiry(settings, make_key, client, redis_client):
    services = Services.build(dataclasses.replace(settings, expiry_sweep_seconds=1))
    sweeps = ExpirySweeps(services.expiry).start()
    try:
        key = make_key("alice")
        memory = create(client, key, content="Gone in two seconds", expires_at=int(time.time()) + 2)
        assert client.get(f"/v1/memory/{memory['id']}", headers=auth(key)).status_code == 200
        deadline = time.monotonic() + 30
        stored = keys.memory_items("alice")
        while redis_client.hexists(stored, memory["id"]) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not redis_client.hexists(stored, memory["id"])
        assert feed(client, key)[-1][:2] == ("memory.deleted", "expiry")
    finally:
        sweeps.stop()
        services.close()


def test_the_mcp_tool_restores(services, make_key):
    server = build_mcp_server(services, user="alice")

    async def scenario():
        async with Client(server) as mcp:
            added = (await mcp.call_tool("add_memory", {"content": "Alice plays the cello"})).structured_content
            memory_id = added["memory"]["id"]
            await mcp.call_tool("delete_memory", {"memory_id": memory_id})
            back = (await mcp.call_tool("restore_memory", {"memory_id": memory_id})).structured_content
            again = await mcp.call_tool("restore_memory", {"memory_id": memory_id})
            return memory_id, back, again

    memory_id, back, again = anyio.run(scenario)
    assert (back["id"], back["content"], back["source"]) == (memory_id, "Alice plays the cello", "mcp")
    assert again.is_error and "memory_exists" in again.content[0].text


def test_concurrent_restores_bring_it_back_once(client, make_key):
    key = make_key("alice")
    memory = create(client, key, content="Restored by one of many")
    client.delete(f"/v1/memory/{memory['id']}", headers=auth(key))
    statuses: list[int] = []

    def attempt():
        statuses.append(restore(client, key, memory["id"]).status_code)

    threads = [threading.Thread(target=attempt) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(statuses) == [200] + [409] * 7


@pytest.mark.parametrize("retention", [0, 3600])
def test_delete_all_then_restore_one(settings, make_key, retention):
    services = Services.build(dataclasses.replace(settings, deleted_retention_seconds=retention))
    try:
        client = create_app(settings, services).test_client()
        key = make_key("alice")
        memories = [create(client, key, content=f"fact number {i}") for i in range(3)]
        assert client.delete("/v1/memory?confirm=true", headers=auth(key)).status_code == 200
        status = restore(client, key, memories[1]["id"]).status_code
        assert status == (200 if retention else 404)
        assert services.check_consistency().ok
    finally:
        services.close()
