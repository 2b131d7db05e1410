"""The service on a real three-node Redis Cluster: every multi-key script stays on one slot."""

from __future__ import annotations

import time

import pytest
import redis

from helpers import RedisServer, auth
from memory_api import create_app
from memory_api.config import Settings


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    nodes = [
        RedisServer(tmp_path_factory.mktemp(f"node{i}"), "--cluster-enabled", "yes",
                    "--cluster-config-file", f"nodes-{i}.conf", "--cluster-node-timeout", "2000").start()
        for i in range(3)
    ]
    clients = [redis.Redis(port=n.port) for n in nodes]
    try:
        bounds = [0, 5461, 10923, 16384]
        for i, client in enumerate(clients):
            client.execute_command("CLUSTER ADDSLOTS", *range(bounds[i], bounds[i + 1]))
        for client in clients[1:]:
            client.execute_command("CLUSTER MEET", "127.0.0.1", nodes[0].port)
        deadline = time.monotonic() + 20
        while not all(c.cluster("info")["cluster_state"] == "ok" for c in clients):
            assert time.monotonic() < deadline, "cluster did not form"
            time.sleep(0.1)
        yield nodes
    finally:
        for c in clients:
            c.close()
        for n in nodes:
            n.stop()


def test_memory_api_on_redis_cluster(cluster, tmp_path):
    settings = Settings(redis_url=cluster[0].url, redis_cluster=True, log_level="WARNING")
    app = create_app(settings)
    keys = app.extensions["memory_api"].keys
    client = app.test_client()
    users = [f"user{i}" for i in range(12)]  # spread over all three nodes' slots
    secrets = {u: keys.create(user=u)[0] for u in users}
    created = {}
    for u in users:
        for i in range(3):
            resp = client.post("/v1/memory", json={"content": f"{u} fact {i}"}, headers=auth(secrets[u]))
            assert resp.status_code == 200, resp.json
            created.setdefault(u, []).append(resp.json["id"])
    for u in users:
        page = client.get("/v1/memory?limit=2", headers=auth(secrets[u])).json
        assert [m["id"] for m in page["data"]] == created[u][::-1][:2] and page["has_more"]
        mid = created[u][0]
        assert client.patch(f"/v1/memory/{mid}", json={"content": "changed"}, headers=auth(secrets[u])).status_code == 200
        assert client.delete(f"/v1/memory/{mid}", headers=auth(secrets[u])).status_code == 200
    for u in users[:4]:  # search, tags, scopes, context, idempotency and conversations on one slot each
        h = auth(secrets[u])
        tagged = client.post("/v1/memory", json={"content": f"{u} likes green tea", "tags": ["drink"],
                                                  "scope": "home"}, headers={**h, "Idempotency-Key": "k1"})
        assert tagged.status_code == 200, tagged.json
        found = client.get("/v1/memory/search?query=green+tea&tag=drink", headers=h).json
        assert [m["id"] for m in found["data"]] == [tagged.json["id"]]
        assert client.get("/v1/memory/tags", headers=h).json["data"][0]["tag"] == "drink"
        ctx = client.post("/v1/memory/context", json={"query": "tea", "scope": "home"}, headers=h).json
        assert ctx["memory_ids"][0] == tagged.json["id"]
        conv = client.post("/v1/conversations", json={}, headers=h)
        assert conv.status_code == 200
        exported = client.get("/v1/memory/export", headers=h).data
        assert client.delete("/v1/memory?confirm=true", headers=h).json["deleted_count"] == 3
        imported = client.post("/v1/memory/import", data=exported, content_type="application/x-ndjson", headers=h)
        assert imported.json["created"] == 3

    report = app.extensions["memory_api"].check_consistency()
    assert report.ok and report.users == len(users), report.problems
    assert len(keys.list()) == len(users)
    keys.revoke(secrets[users[0]])
    assert len(keys.list()) == len(users) - 1
    app.extensions["memory_api"].close()


def test_query_profiles_on_redis_cluster(cluster):
    """The query profile's reads (VCARD, VRANDMEMBER, VEMB) and its script run on the user's node."""
    from memory_api.services import Services
    from memory_api.services.query_profile import PROFILE_MIN_VECTORS, QueryProfile
    from memory_api.store import keys as redis_keys

    services = Services.build(Settings(redis_url=cluster[0].url, redis_cluster=True, log_level="WARNING"))
    try:
        for user in ("carol", "dave", "erin"):  # different slots
            services.memories.create_batch(user, [{"content": f"{user} note {i} about the garden"}
                                                  for i in range(PROFILE_MIN_VECTORS)])
            assert services.search.search(user, "what grows well?", mode="semantic").items
            blob = services.redis.client.hget(redis_keys.memory_stats(user), "vprofile")
            assert QueryProfile.decode(blob).fitted_on == PROFILE_MIN_VECTORS
        assert services.check_consistency().ok
    finally:
        services.close()


def test_the_expiry_sweeper_finds_users_on_every_node(cluster):
    """The sweeper's SCAN reaches every primary, each user's deletes run on that user's slot, with the feed
    entry (source expiry) and the deleted memory kept for restore."""
    from memory_api.services import Services

    services = Services.build(Settings(redis_url=cluster[0].url, redis_cluster=True, log_level="WARNING",
                                       embeddings="off"))
    try:
        now = int(time.time())
        users = [f"sweep{i}" for i in range(9)]  # spread over the three nodes' slots
        expiring, kept = {}, {}
        for user in users:
            expiring[user] = services.memories.create(user, f"{user}'s parking code 4711",
                                                      times={"expires_at": now + 3600}).memory.id
            kept[user] = services.memories.create(user, f"{user} likes tea").memory.id
        nodes = {services.redis.client.keyslot(f"{{u:{u}}}") // 5461 for u in users}
        assert len(nodes) >= 2, "the users should live on more than one node"

        assert services.expiry.sweep(now=now + 3600) == len(users)
        for user in users:
            assert [m.id for m in services.memories.list(user, limit=10).items] == [kept[user]]
            [latest] = [e.to_api() for e in services.events.list(user, limit=1).items]
            assert (latest["type"], latest["memory_id"], latest["source"]) == (
                "memory.deleted", expiring[user], "expiry")
            restored = services.memories.restore(user, expiring[user])
            assert restored.id == expiring[user]
        assert services.check_consistency().ok
    finally:
        services.close()


def test_shared_spaces_on_redis_cluster(cluster):
    """Each space on its own slot, its members' indexes on theirs: membership, writes, the by-id lookup
    across a user's spaces, a block drawn from a user and two spaces, check, and a deletion that leaves
    no key of the space on any node."""
    settings = Settings(redis_url=cluster[0].url, redis_cluster=True, log_level="WARNING", embeddings="off")
    app = create_app(settings)
    services = app.extensions["memory_api"]
    client = app.test_client()
    try:
        people = {u: auth(services.keys.create(user=u)[0]) for u in ("ada", "bo", "cy")}
        spaces = [client.post("/v1/spaces", json={"name": f"team {i}"}, headers=people["ada"]).json["id"]
                  for i in range(4)]
        slots = {services.redis.client.keyslot(f"{{u:#{s}}}") // 5461 for s in spaces}
        assert len(slots) >= 2, "the spaces should live on more than one node"
        shared = {}
        for space in spaces:
            resp = client.post(f"/v1/spaces/{space}/members", json={"user": "bo", "role": "writer"},
                               headers=people["ada"])
            assert resp.status_code == 200, resp.json
            shared[space] = client.post("/v1/memory", json={"content": f"lunch plan of {space}", "space": space},
                                        headers=people["bo"]).json["id"]
        own = client.post("/v1/memory", json={"content": "my own lunch plan"}, headers=people["bo"]).json["id"]
        for space, memory_id in shared.items():
            got = client.get(f"/v1/memory/{memory_id}", headers=people["bo"])
            assert got.status_code == 200 and got.json["space"] == space
            assert client.get(f"/v1/memory/{memory_id}", headers=people["cy"]).status_code == 404
        ctx = client.post("/v1/memory/context", json={"query": "lunch plan", "spaces": spaces[:2]},
                          headers=people["bo"]).json
        assert set(ctx["memory_ids"]) == {own, shared[spaces[0]], shared[spaces[1]]}
        assert services.check_consistency().ok
        assert client.delete(f"/v1/spaces/{spaces[0]}?confirm=true", headers=people["ada"]).status_code == 200
        assert list(services.redis.client.scan_iter(match=f"*{spaces[0]}*")) == []
        assert [s["id"] for s in client.get("/v1/spaces", headers=people["bo"]).json["data"]] == spaces[1:]
    finally:
        services.close()
