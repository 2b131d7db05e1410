"""Rate limits per API key, shared by all workers through Redis."""

from __future__ import annotations

import httpx2
import pytest

from helpers import auth, mcp_http_server
from memory_api import create_app
from memory_api.config import ConfigError, Settings
from memory_api.services import Services


def test_rate_limit_per_key_with_retry_after(settings, make_key):
    limited = settings.replace(rate_limit="5/minute")
    # Two apps on one Redis stand for two gunicorn workers: they must share the count.
    apps = [create_app(limited, Services.build(limited)) for _ in range(2)]
    alice, bob = make_key("alice"), make_key("bob")
    statuses = [apps[i % 2].test_client().get("/v1/memory", headers=auth(alice)).status_code for i in range(5)]
    assert statuses == [200] * 5
    over = apps[1].test_client().get("/v1/memory", headers=auth(alice))
    assert over.status_code == 429
    assert over.json["error"]["type"] == "rate_limit_error"
    assert over.json["error"]["code"] == "rate_limit_exceeded"
    assert 0 < int(over.headers["Retry-After"]) <= 60
    assert over.headers["x-request-id"]
    assert apps[0].test_client().get("/v1/memory", headers=auth(bob)).status_code == 200
    assert apps[0].test_client().get("/healthz").status_code == 200  # exempt
    for app in apps:
        app.extensions["memory_api"].close()


def test_rate_limits_are_off_by_default(client, make_key):
    key = make_key("alice")
    assert all(client.get("/v1/memory", headers=auth(key)).status_code == 200 for _ in range(30))


def test_one_budget_per_key_however_the_header_is_spelled(settings, make_key):
    limited = settings.replace(rate_limit="4/minute")
    services = Services.build(limited)
    client = create_app(limited, services).test_client()
    key = make_key("alice")
    spellings = [f"Bearer {key}", f"Bearer    {key}", f"bearer {key}", f"BEARER {key}"]
    assert [client.get("/v1/memory", headers={"Authorization": s}).status_code for s in spellings] == [200] * 4
    for spelling in spellings:  # no spelling opens a fresh budget
        assert client.get("/v1/memory", headers={"Authorization": spelling}).status_code == 429
    services.close()


def test_one_budget_across_endpoints(settings, make_key):
    limited = settings.replace(rate_limit="3/minute")
    services = Services.build(limited)
    client = create_app(limited, services).test_client()
    key = make_key("alice")
    assert [client.get("/v1/memory/stats", headers=auth(key)).status_code for _ in range(3)] == [200] * 3
    for path in ("/v1/memory/stats", "/v1/memory/tags", "/v1/memory/search?query=tea", "/v1/memory"):
        resp = client.get(path, headers=auth(key))
        assert resp.status_code == 429, path
        assert resp.json["error"]["code"] == "rate_limit_exceeded" and "API key" in resp.json["error"]["message"]
    services.close()


def test_requests_without_a_valid_key_count_by_address(settings, make_key):
    limited = settings.replace(rate_limit="2/minute")
    services = Services.build(limited)
    client = create_app(limited, services).test_client()
    wrong = {"Authorization": "Bearer sk-mem-wrong"}
    assert [client.get("/v1/memory", headers=wrong).status_code for _ in range(2)] == [401, 401]
    over = client.get("/v1/memory", headers={})
    assert over.status_code == 429 and "address" in over.json["error"]["message"]
    assert client.get("/v1/memory", headers=auth(make_key("alice"))).status_code == 200  # a key has its own
    services.close()


def test_per_path_budgets_on_top_of_the_shared_one(settings, make_key):
    limited = settings.replace(rate_limit="10/minute", rate_limit_paths="/v1/memory/search=2/minute")
    services = Services.build(limited)
    client = create_app(limited, services).test_client()
    key = make_key("alice")
    searches = [client.get("/v1/memory/search?query=tea", headers=auth(key)) for _ in range(3)]
    assert [r.status_code for r in searches] == [200, 200, 429]
    assert "/v1/memory/search" in searches[2].json["error"]["message"]
    assert client.get("/v1/memory", headers=auth(key)).status_code == 200  # the shared budget has room left
    services.close()


@pytest.mark.parametrize("env, message", [
    ({"MEMORY_API_RATE_LIMIT": "5/fortnight"}, "MEMORY_API_RATE_LIMIT"),
    ({"MEMORY_API_RATE_LIMIT_PATHS": "v1/chat=5/minute"}, "MEMORY_API_RATE_LIMIT_PATHS"),
])
def test_an_unreadable_limit_is_a_config_error(env, message):
    with pytest.raises(ConfigError, match=message):
        Settings.from_env(env, dotenv=False)


def test_mcp_over_http_shares_the_key_budget(redis_server, settings, make_key, tmp_path):
    limited = settings.replace(rate_limit="3/minute")
    services = Services.build(limited)
    client = create_app(limited, services).test_client()
    key = make_key("alice")
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
    headers = {**auth(key), "Accept": "application/json, text/event-stream"}
    with mcp_http_server(redis_server, tmp_path, MEMORY_API_RATE_LIMIT="3/minute") as url:
        assert client.get("/v1/memory", headers=auth(key)).status_code == 200
        assert [httpx2.post(url, json=body, headers=headers).status_code for _ in range(2)] == [200, 200]
        over = httpx2.post(url, json=body, headers=headers)
        assert over.status_code == 429 and over.json()["error"]["type"] == "rate_limit_error"
        assert 0 < int(over.headers["Retry-After"]) <= 60
        assert client.get("/v1/memory", headers=auth(key)).status_code == 429  # the same budget as REST
    services.close()
