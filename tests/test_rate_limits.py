"""Rate limits per API key, shared by all workers through Redis."""

from __future__ import annotations

from helpers import auth
from memory_api import create_app
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
