"""The service on a real six-node Redis Cluster (three masters, three replicas, AOF) while it changes
under load: a slot moved by the standard resharding steps, a master killed, seed nodes down.

What must hold: no request answers 500 (only 200, or the documented 503 with Retry-After); nothing
is half written (`check` is clean afterwards); no write acknowledged more than a second before a
master died is lost; the service recovers by itself, without a restart.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

import pytest
import redis
from redis.cluster import key_slot

from flask import Flask

from helpers import RedisServer, auth, cannot_run, free_port, subprocess_env, wait_until
from memory_api import create_app
from memory_api.config import Settings
from memory_api.store import keys as key_names

NODE_ARGS = ("--cluster-enabled", "yes", "--cluster-node-timeout", "1500",
             "--appendonly", "yes", "--appendfsync", "everysec")
ALLOWED = {200, 503}


class Cluster:
    def __init__(self, root) -> None:
        self.nodes = [RedisServer(root / f"node{i}", *NODE_ARGS, "--cluster-config-file", f"nodes-{i}.conf")
                      for i in range(6)]
        self._clients: dict[int, redis.Redis] = {}

    def start(self) -> "Cluster":
        for node in self.nodes:
            node.start()
        masters, replicas = self.nodes[:3], self.nodes[3:]
        bounds = [0, 5461, 10923, 16384]
        for i, master in enumerate(masters):
            self.client(master).execute_command("CLUSTER ADDSLOTS", *range(bounds[i], bounds[i + 1]))
        for node in self.nodes[1:]:
            self.client(node).execute_command("CLUSTER MEET", "127.0.0.1", self.nodes[0].port)
        wait_until(lambda: all(len(self.client(n).cluster("nodes")) == 6 for n in self.nodes),
                   timeout=20, what="all six nodes to know each other")
        for master, replica in zip(masters, replicas):
            self.client(replica).execute_command("CLUSTER REPLICATE", self.node_id(master))
        wait_until(lambda: all(self.client(r).info("replication").get("master_link_status") == "up"
                               for r in replicas), timeout=20, what="replicas to sync")
        wait_until(self.healthy, timeout=20, what="the cluster to be ok")
        return self

    def stop(self) -> None:
        for client in self._clients.values():
            client.close()
        for node in self.nodes:
            node.stop()

    def client(self, node: RedisServer) -> redis.Redis:
        if node.port not in self._clients:
            self._clients[node.port] = redis.Redis(port=node.port, socket_timeout=2, decode_responses=True)
        return self._clients[node.port]

    def node_id(self, node: RedisServer) -> str:
        return self.client(node).execute_command("CLUSTER MYID")

    def alive(self) -> list[RedisServer]:
        return [n for n in self.nodes if n.process and n.process.poll() is None]

    def healthy(self) -> bool:
        try:
            return all(self.client(n).cluster("info")["cluster_state"] == "ok" for n in self.alive())
        except redis.RedisError:
            return False

    def master_of(self, slot: int) -> RedisServer | None:
        """The live master a live node says serves `slot` (None while none does)."""
        for node in self.alive():
            client = self.client(node)
            if client.info("replication")["role"] != "master":
                continue
            mine = self.node_id(node)
            for start, end, *holders in client.execute_command("CLUSTER SLOTS"):
                if start <= slot <= end and holders[0][2] == mine:
                    return node
        return None

    def seeds(self, nodes=None) -> str:
        return "redis://" + ",".join(f"127.0.0.1:{n.port}" for n in (nodes or self.nodes)) + "/0"

    def move_slot(self, slot: int, source: RedisServer, target: RedisServer, *, pause: float = 0.02) -> int:
        """Reshard one slot the way `redis-cli --cluster reshard` does; returns the keys moved."""
        src, dst = self.client(source), self.client(target)
        src_id, dst_id = self.node_id(source), self.node_id(target)
        dst.execute_command("CLUSTER SETSLOT", slot, "IMPORTING", src_id)
        src.execute_command("CLUSTER SETSLOT", slot, "MIGRATING", dst_id)
        moved = 0
        while True:
            batch = src.execute_command("CLUSTER GETKEYSINSLOT", slot, 3)
            if not batch:
                break
            src.execute_command("MIGRATE", "127.0.0.1", target.port, "", 0, 5000, "KEYS", *batch)
            moved += len(batch)
            time.sleep(pause)  # a few keys at a time: writes keep arriving mid-migration
        for node in (target, source, *[n for n in self.alive() if n not in (target, source)]):
            if self.client(node).info("replication")["role"] == "master":
                self.client(node).execute_command("CLUSTER SETSLOT", slot, "NODE", dst_id)
        return moved


@pytest.fixture
def apps():
    """Apps made by a test, closed after it (their Redis Cluster clients hold sockets)."""
    made = []
    yield made
    for app in made:
        app.extensions["memory_api"].close()


@pytest.fixture
def cluster(tmp_path):
    if sys.platform == "win32":
        pytest.skip("needs six redis-server processes")
    started = Cluster(tmp_path)
    try:
        started.start()
    except (RuntimeError, OSError) as exc:  # the machine cannot run six redis-server processes
        started.stop()
        cannot_run(f"cannot start a six-node Redis Cluster here: {exc}")
    try:
        yield started
    finally:
        started.stop()


def cluster_app(apps: list, url: str) -> Flask:
    app = create_app(Settings(redis_url=url, redis_cluster=True, log_level="ERROR", redis_timeout=1.0))
    apps.append(app)
    return app


class Load:
    """Writers, one thread per user: create, and now and then update or delete an earlier memory.
    Every answer is recorded with the time it came back."""

    def __init__(self, app, users: dict[str, str]) -> None:
        self.app = app
        self.users = users
        self.stop = threading.Event()
        self.statuses: list[tuple[int, dict]] = []
        self.successes: dict[str, int] = dict.fromkeys(users, 0)
        self.acknowledged: dict[str, tuple[str, str, float]] = {}  # memory id -> (user, content, when)
        self.deleted: set[str] = set()
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self._write, args=(u,), daemon=True) for u in users]

    def __enter__(self) -> "Load":
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(30)

    def _write(self, user: str) -> None:
        client = self.app.test_client()
        headers = auth(self.users[user])
        mine: list[str] = []
        i = 0
        while not self.stop.is_set():
            i += 1
            if i % 7 == 0 and mine:
                # The newest goes: the early memories stay untouched, so a long failover under a
                # loaded machine still leaves writes acknowledged before the kill to check.
                target = mine.pop()
                resp = client.delete(f"/v1/memory/{target}", headers=headers)
                if resp.status_code == 200:
                    with self.lock:
                        self.deleted.add(target)
            elif i % 5 == 0 and mine:
                content = f"{user} updated note {i} about gardening and tomatoes"
                resp = client.patch(f"/v1/memory/{mine[-1]}", json={"content": content}, headers=headers)
                if resp.status_code == 200:
                    with self.lock:
                        self.acknowledged[mine[-1]] = (user, content, time.monotonic())
            else:
                content = f"{user} note {i} about cycling, peanuts and the Lisbon trip"
                resp = client.post("/v1/memory", json={"content": content, "tags": [f"t{i % 3}"]}, headers=headers)
                if resp.status_code == 200:
                    mine.append(resp.json["id"])
                    with self.lock:
                        self.acknowledged[resp.json["id"]] = (user, content, time.monotonic())
            with self.lock:
                self.statuses.append((resp.status_code, resp.json or {}))
                self.successes[user] += resp.status_code == 200
            if resp.status_code == 503:
                assert resp.headers.get("Retry-After"), "a 503 says when to retry"
                time.sleep(0.05)

    def unexpected(self) -> list[tuple[int, dict]]:
        return [(status, body) for status, body in self.statuses if status not in ALLOWED]

    def settled(self, *, older_than: float) -> int:
        """Acknowledged memories whose last acknowledgement is more than `older_than` seconds old."""
        cutoff = time.monotonic() - older_than
        with self.lock:
            return sum(1 for _, _, when in self.acknowledged.values() if when < cutoff)

    def count(self, status: int) -> int:
        return sum(1 for s, _ in self.statuses if s == status)


def make_users(app, names) -> dict[str, str]:
    api_keys = app.extensions["memory_api"].keys
    return {name: api_keys.create(user=name)[0] for name in names}


def assert_all_present(app, load: Load, *, acknowledged_before: float | None = None) -> int:
    """Every acknowledged, not deleted memory reads back with the acknowledged content."""
    client = app.test_client()
    checked = 0
    for memory_id, (user, content, when) in load.acknowledged.items():
        if memory_id in load.deleted or (acknowledged_before is not None and when > acknowledged_before):
            continue
        resp = client.get(f"/v1/memory/{memory_id}", headers=auth(load.users[user]))
        assert resp.status_code == 200, (memory_id, resp.status_code, resp.json)
        assert resp.json["content"] == content
        checked += 1
    return checked


def test_moving_a_slot_under_writes_answers_no_500_and_leaves_check_clean(cluster, apps):
    app = cluster_app(apps, cluster.seeds())
    users = make_users(app, [f"mover{i}" for i in range(4)])
    moving = "mover0"
    slot = key_slot(key_names.memory_items(moving).encode())
    source = cluster.master_of(slot)
    target = next(n for n in cluster.nodes[:3] if n is not source)

    with Load(app, users) as load:
        wait_until(lambda: load.count(200) >= 40, timeout=30, what="the load to get going")
        moved = cluster.move_slot(slot, source, target)
        after = len(load.statuses)
        wait_until(lambda: len(load.statuses) >= after + 40, timeout=30, what="writes after the move")

    assert moved >= 5, "the user's keys were moved"
    assert cluster.master_of(slot) is target
    assert load.unexpected() == [], load.unexpected()[:5]
    assert_all_present(app, load)
    report = app.extensions["memory_api"].check_consistency()
    assert report.ok, report.problems[:10]
    # And the moved user's memories are still found by search, served from their new node.
    resp = app.test_client().get("/v1/memory/search?query=peanuts&mode=keyword", headers=auth(users[moving]))
    assert resp.status_code == 200 and resp.json["data"], resp.json


def test_a_master_killed_under_writes_loses_no_acknowledged_write_and_recovers(cluster, apps):
    app = cluster_app(apps, cluster.seeds())
    users = make_users(app, [f"failover{i}" for i in range(6)])
    slot = key_slot(key_names.memory_items("failover0").encode())
    victim = cluster.master_of(slot)

    with Load(app, users) as load:
        wait_until(lambda: load.settled(older_than=1.2) >= 40, timeout=60,
                   what="40 writes acknowledged more than a second ago")
        victim.kill()
        killed_at = time.monotonic()
        wait_until(lambda: cluster.master_of(slot) not in (None, victim), timeout=30, what="the replica to take over")
        # Recovered by itself: the victim's user writes again, through the same app.
        before = load.successes["failover0"]
        wait_until(lambda: load.successes["failover0"] >= before + 10, timeout=30,
                   what="the dead master's user to write again after the failover")

    assert load.unexpected() == [], load.unexpected()[:5]
    assert load.count(503) >= 1, "writes to the dead master's slots were refused while it was down"
    checked = assert_all_present(app, load, acknowledged_before=killed_at - 1.0)
    assert checked >= 5  # most early memories were updated or deleted again later, after the cutoff
    report = app.extensions["memory_api"].check_consistency()
    assert report.ok, report.problems[:10]


def test_several_seed_nodes_and_none_reachable(cluster, apps):
    dead = f"127.0.0.1:{free_port(below=55536)}"
    replica = cluster.nodes[3]
    # The first seed is down; the second finds the cluster.
    app = cluster_app(apps, f"redis://{dead},127.0.0.1:{replica.port}/0")
    secret = make_users(app, ["seeded"])["seeded"]
    client = app.test_client()
    assert client.post("/v1/memory", json={"content": "seeds work"}, headers=auth(secret)).status_code == 200

    # Only one seed, and it is down: 503 in the envelope, /healthz included; then back by itself.
    alone = cluster_app(apps, f"redis://127.0.0.1:{replica.port}/0")
    replica.stop()
    try:
        lonely = alone.test_client()
        for resp in (lonely.get("/healthz"), lonely.get("/v1/memory", headers=auth(secret))):
            assert resp.status_code == 503, resp.data
            assert resp.json["error"]["code"] == "store_unavailable" and resp.headers["Retry-After"]
        env = subprocess_env(REDIS_URL=f"redis://127.0.0.1:{replica.port}/0", MEMORY_API_REDIS_CLUSTER="true",
                             MEMORY_API_REDIS_TIMEOUT="1")
        run = subprocess.run([sys.executable, "-m", "memory_api.cli", "check"], env=env, capture_output=True,
                             text=True, timeout=60, cwd=os.path.dirname(os.path.dirname(__file__)))
        assert run.returncode != 0 and "Traceback" not in run.stderr, run.stderr
        assert "store_unavailable" in run.stderr
    finally:
        replica.start()
    wait_until(lambda: alone.test_client().get("/v1/memory", headers=auth(secret)).status_code == 200,
               timeout=30, what="the app to reach the cluster again")


def test_a_cluster_url_that_cannot_work_is_refused_at_start():
    from memory_api.config import ConfigError

    for url in ("unix:///tmp/redis.sock", "redis://127.0.0.1:7000/3", "redis://127.0.0.1:notaport"):
        with pytest.raises(ConfigError, match="MEMORY_API_REDIS_CLUSTER"):
            Settings(redis_url=url, redis_cluster=True)
