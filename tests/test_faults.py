"""Faults: a worker killed mid-write, Redis going away and coming back, graceful shutdown."""

from __future__ import annotations

import http.client
import json
import os
import random
import signal
import threading
import time
from pathlib import Path


from helpers import RedisServer, auth, wait_until
from fake_llm import FakeLLM
from test_serve_embedded import Serve, cli, embedded_servers
from test_serve_embedded import http as http_json
from memory_api import create_app
from memory_api.config import Settings
from memory_api.store import keys as redis_keys


def children_of(pid: int) -> list[int]:
    kids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                kids.append(int(entry.name))
    return kids


def test_check_finds_disagreements(tmp_path, redis_server, redis_client):
    from memory_api.services import Services

    svc = Services.build(Settings(redis_url=redis_server.url))
    ids = [svc.memories.create("alice", f"fact {i}").memory.id for i in range(4)]
    svc.memories.create("bob", "bob's")
    svc.close()
    ok = cli(tmp_path, "check", REDIS_URL=redis_server.url)
    assert ok.returncode == 0 and "checked 2 user(s) and space(s), 5 memories: OK" in ok.stdout
    redis_client.hdel(redis_keys.memory_items("alice"), ids[0])  # index entry without record
    redis_client.zrem(redis_keys.memory_ids("alice"), ids[1])  # record without index entry
    redis_client.hset(redis_keys.memory_items("alice"), ids[2], "{not json")
    bad = cli(tmp_path, "check", "--json", REDIS_URL=redis_server.url)
    assert bad.returncode == 1
    report = json.loads(bad.stdout)
    assert report["ok"] is False
    assert any(ids[0] in p and "no record" in p for p in report["problems"])
    assert any(ids[1] in p and "missing from the id index" in p for p in report["problems"])
    assert any(ids[2] in p and "not valid" in p for p in report["problems"])


class Storm:
    """Clients creating, updating and deleting as fast as they can; remembers what was acknowledged."""

    def __init__(self, url: str, key: str, threads: int = 8) -> None:
        self.host, port = url.replace("http://", "").split(":")
        self.port = int(port)
        self.key = key
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.created: set[str] = set()
        self.deleted: set[str] = set()
        self.maybe_deleted: set[str] = set()  # a delete whose answer was lost with its worker
        self.unknown = 0
        self.threads = [threading.Thread(target=self.run, args=(i,)) for i in range(threads)]

    def request(self, method, path, body=None):
        conn = http.client.HTTPConnection(self.host, self.port, timeout=10)
        try:
            data = json.dumps(body) if body is not None else None
            conn.request(method, path, body=data, headers={"Authorization": f"Bearer {self.key}",
                                                           "Content-Type": "application/json"})
            resp = conn.getresponse()
            return resp.status, json.loads(resp.read())
        finally:
            conn.close()

    def run(self, seed: int) -> None:
        rnd = random.Random(seed)
        mine: list[str] = []
        while not self.stop.is_set():
            victim = None
            try:
                roll = rnd.random()
                if roll < 0.6 or not mine:
                    status, body = self.request("POST", "/v1/memory", {"content": f"storm {rnd.random()}"})
                    if status == 200:
                        with self.lock:
                            self.created.add(body["id"])
                        mine.append(body["id"])
                elif roll < 0.8:
                    self.request("PATCH", f"/v1/memory/{rnd.choice(mine)}", {"content": "updated"})
                else:
                    victim = mine.pop(rnd.randrange(len(mine)))
                    status, _ = self.request("DELETE", f"/v1/memory/{victim}")
                    if status == 200:
                        with self.lock:
                            self.deleted.add(victim)
            except (OSError, http.client.HTTPException, ValueError):
                with self.lock:
                    self.unknown += 1  # the worker died under this request: outcome unknown
                    if victim is not None:
                        self.maybe_deleted.add(victim)

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for t in self.threads:
            t.join()


def test_sigkill_of_workers_during_a_write_storm_leaves_no_half_writes(tmp_path, redis_server, redis_client):
    from memory_api.services import Services

    svc = Services.build(Settings(redis_url=redis_server.url))
    key, _ = svc.keys.create(user="storm")
    # embeddings off: the kills are about the atomic write, and each restarted worker starts faster
    serve = Serve(tmp_path / "data", workers=3, REDIS_URL=redis_server.url, MEMORY_API_EMBEDDINGS="off")
    try:
        with Storm(serve.url, key) as storm:
            for _ in range(3):
                # Kill a worker once the storm has acknowledged more writes since the last kill.
                acknowledged = len(storm.created)
                wait_until(lambda: len(storm.created) >= acknowledged + 25, timeout=30,
                           what="more acknowledged creates")
                victims = children_of(serve.proc.pid)
                assert victims, "gunicorn workers should be running"
                os.kill(random.choice(victims), signal.SIGKILL)
            acknowledged = len(storm.created)
            wait_until(lambda: len(storm.created) >= acknowledged + 25, timeout=30, what="writes after the kills")
        assert len(storm.created) > 50 and storm.deleted
        report = cli(tmp_path, "check", "--json", REDIS_URL=redis_server.url, MEMORY_API_EMBEDDINGS="off")
        assert report.returncode == 0, report.stdout
        page = svc.memories.list("storm", limit=100)
        stored = {m.id for m in page.items}
        while page.has_more:
            page = svc.memories.list("storm", limit=100, after=page.items[-1].id)
            stored |= {m.id for m in page.items}
        assert storm.created - storm.deleted - storm.maybe_deleted <= stored, "an acknowledged create was lost"
        assert not (storm.deleted & stored), "an acknowledged delete came back"
    finally:
        serve.stop()
        svc.close()


def test_redis_outage_gives_503_then_recovers_without_restart(tmp_path):
    server = RedisServer(tmp_path / "redis", "--appendonly", "yes").start()
    settings = Settings(redis_url=server.url, redis_timeout=0.5, log_level="CRITICAL")
    app = create_app(settings)
    key, _ = app.extensions["memory_api"].keys.create(user="alice")
    client = app.test_client()
    assert client.post("/v1/memory", json={"content": "before"}, headers=auth(key)).status_code == 200
    server.kill()
    try:
        for method, path in (("get", "/v1/memory"), ("post", "/v1/memory"), ("get", "/healthz")):
            started = time.monotonic()
            resp = getattr(client, method)(path, json={"content": "x"} if method == "post" else None,
                                           headers=auth(key))
            assert resp.status_code == 503, (path, resp.json)
            assert resp.json["error"]["type"] == "service_unavailable_error"
            assert time.monotonic() - started < 3, "no hang beyond the socket timeout"
    finally:
        server.start()  # same port, same data directory
    deadline = time.monotonic() + 10
    while client.get("/healthz").status_code != 200:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    page = client.get("/v1/memory", headers=auth(key))
    assert page.status_code == 200 and [m["content"] for m in page.json["data"]] == ["before"]
    assert client.post("/v1/memory", json={"content": "after"}, headers=auth(key)).status_code == 200
    app.extensions["memory_api"].close()
    server.stop()


def test_sigterm_lets_in_flight_requests_finish_and_saves_redis(tmp_path):
    data_dir = tmp_path / "data"
    with FakeLLM() as fake:
        fake.response_delay = 1.5
        serve = Serve(data_dir, workers=2, OPENAI_BASE_URL=fake.url, OPENAI_API_KEY="sk-up")
        created = cli(data_dir, "keys", "create", "alice")
        key = created.stdout.strip()
        status, conv = http_json("POST", f"{serve.url}/v1/conversations", key, {})
        result = {}

        def slow_chat():
            result["answer"] = http_json("POST", f"{serve.url}/v1/chat/completions", key, {
                "conversation_id": conv["id"], "messages": [{"role": "user", "content": "wait for me"}]})

        thread = threading.Thread(target=slow_chat)
        fake.request_received.clear()
        thread.start()
        assert fake.request_received.wait(10), "the chat never reached the provider"
        serve.proc.send_signal(signal.SIGTERM)
        thread.join(10)
        serve.proc.communicate(timeout=30)
        serve._log_file.close()
    status, body = result["answer"]
    assert status == 200 and body["choices"][0]["message"]["content"] == "echo: wait for me"
    assert serve.proc.returncode == 0
    assert embedded_servers(data_dir) == []
    serve = Serve(data_dir)
    try:
        status, state = http_json("GET", f"{serve.url}/v1/conversations/{conv['id']}", key)
        assert state["message_count"] == 2
    finally:
        serve.stop()
