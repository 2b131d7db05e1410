"""The embedded Redis's life (issue 11, item 2): `serve` restarts it when it dies, and every
command that started it stops it on every way out (SIGTERM, SIGINT, SIGHUP, a normal exit).

These run the real commands in subprocesses and kill or signal real processes.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess

import pytest

from helpers import REPO, free_port, subprocess_env, wait_until
from test_serve_embedded import CLI, Serve, cli, embedded_servers, http


def test_serve_restarts_a_killed_embedded_redis(tmp_path):
    data_dir = tmp_path / "data"
    serve = Serve(data_dir)
    try:
        created = cli(data_dir, "keys", "create", "alice")
        assert created.returncode == 0, created.stderr
        key = created.stdout.strip()
        assert http("POST", f"{serve.url}/v1/memory", key, {"content": "before the crash"})[0] == 200
        [first] = embedded_servers(data_dir)

        os.kill(first, signal.SIGKILL)
        wait_until(lambda: first not in embedded_servers(data_dir), what="redis-server to die")
        wait_until(lambda: http("POST", f"{serve.url}/v1/memory", key, {"content": "after"})[0] == 200,
                   timeout=15, what="requests to recover")
        [second] = embedded_servers(data_dir)
        assert second != first
        status, page = http("GET", f"{serve.url}/v1/memory?limit=10", key)
        assert status == 200 and "after" in [m["content"] for m in page["data"]]
    finally:
        serve.stop()
    log = serve.log.read_text()
    assert "died; restarting it" in log and "restarted (restart 1)" in log, log
    assert embedded_servers(data_dir) == [], "the restarted Redis stops with serve too"


def _start(data_dir, *args: str, **popen) -> subprocess.Popen:
    """The command in a subprocess; its stderr goes to data_dir's sibling `<command>.log`."""
    log = data_dir.parent / f"{args[0]}.log"
    with open(log, "wb") as stderr:
        return subprocess.Popen([*CLI, *args], cwd=REPO, env=subprocess_env(MEMORY_API_DATA_DIR=str(data_dir)),
                                stdout=subprocess.DEVNULL, stderr=stderr, **popen)


def _log(data_dir, command: str) -> str:
    return (data_dir.parent / f"{command}.log").read_text()


def _port_open(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        return True
    except OSError:
        return False


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP])
def test_mcp_http_stops_its_embedded_redis_on_a_signal(tmp_path, sig):
    data_dir = tmp_path / "data"
    port = free_port()
    proc = _start(data_dir, "mcp", "--transport", "http", "--port", str(port))
    try:
        wait_until(lambda: _port_open(port) or proc.poll() is not None, timeout=30, what="the MCP server")
        assert proc.poll() is None, _log(data_dir, "mcp")
        assert len(embedded_servers(data_dir)) == 1
        proc.send_signal(sig)
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    assert embedded_servers(data_dir) == [], _log(data_dir, "mcp")


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP])
def test_mcp_stdio_stops_its_embedded_redis_on_a_signal(tmp_path, sig):
    data_dir = tmp_path / "data"
    proc = _start(data_dir, "mcp", "--user", "alice", stdin=subprocess.PIPE)
    try:
        wait_until(lambda: embedded_servers(data_dir) or proc.poll() is not None, timeout=30,
                   what="the embedded Redis")
        assert proc.poll() is None, _log(data_dir, "mcp")
        wait_until(lambda: (data_dir / "redis.sock").exists(), what="the socket")
        proc.send_signal(sig)
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        proc.stdin.close()
    assert embedded_servers(data_dir) == [], _log(data_dir, "mcp")


def test_a_command_beside_serve_leaves_serves_redis_running(tmp_path):
    """A signal to a command that attached to serve's Redis must not stop it: it is not the last user."""
    data_dir = tmp_path / "data"
    serve = Serve(data_dir)
    try:
        port = free_port()
        proc = _start(data_dir, "mcp", "--transport", "http", "--port", str(port))
        wait_until(lambda: _port_open(port) or proc.poll() is not None, timeout=30, what="the MCP server")
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
        assert len(embedded_servers(data_dir)) == 1
        assert http("GET", f"{serve.url}/healthz")[0] == 200
    finally:
        serve.stop()
    assert embedded_servers(data_dir) == []
