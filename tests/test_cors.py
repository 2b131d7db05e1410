"""CORS (MEMORY_API_CORS_ORIGINS): off by default; preflights answered without a key; error envelopes
readable from an allowed origin; every header a browser client needs exposed.

The same from a real browser page on another origin: tests/test_cors_browser.py.
"""

from __future__ import annotations

import re

import pytest

from helpers import REPO, auth
from memory_api import create_app
from memory_api.api.cors import ALLOWED_REQUEST_HEADERS, EXPOSED_RESPONSE_HEADERS
from memory_api.config import ConfigError, Settings

APP_ORIGIN = "http://localhost:5173"
OTHER_ORIGIN = "https://evil.example"
REQUESTED_HEADERS = "authorization, content-type, idempotency-key, if-match, if-none-match, x-memory-user"


@pytest.fixture
def cors_client(settings, services):
    app = create_app(settings.replace(cors_origins=f"{APP_ORIGIN}, https://app.example.com"), services)
    return app.test_client()


def preflight(client, path: str, origin: str, method: str = "PATCH"):
    return client.options(path, headers={"Origin": origin, "Access-Control-Request-Method": method,
                                         "Access-Control-Request-Headers": REQUESTED_HEADERS})


def cors_headers(response) -> dict[str, str]:
    return {k: v for k, v in response.headers.items() if k.lower().startswith("access-control-")}


def listed(header_value: str) -> set[str]:
    return {h.strip().lower() for h in header_value.split(",")}


def test_cors_is_off_by_default(client, make_key):
    assert Settings().cors_origins == ""
    assert cors_headers(preflight(client, "/v1/memory", APP_ORIGIN)) == {}
    answer = client.get("/v1/memory", headers=auth(make_key("alice"), Origin=APP_ORIGIN))
    assert answer.status_code == 200
    assert cors_headers(answer) == {}


def test_a_preflight_from_an_allowed_origin_is_answered_without_a_key(cors_client):
    answer = preflight(cors_client, "/v1/memory/mem_01JD0000000000000000000000", APP_ORIGIN)
    assert answer.status_code == 204
    assert answer.headers["Access-Control-Allow-Origin"] == APP_ORIGIN
    assert listed(answer.headers["Access-Control-Allow-Headers"]) == listed(REQUESTED_HEADERS)
    assert {"get", "post", "patch", "delete"} <= listed(answer.headers["Access-Control-Allow-Methods"])
    assert int(answer.headers["Access-Control-Max-Age"]) > 0
    assert "Access-Control-Allow-Credentials" not in answer.headers  # bearer tokens, never cookies
    assert "Origin" in answer.headers.get("Vary", "")


def test_origins_match_exactly_and_case_insensitively(cors_client):
    assert preflight(cors_client, "/v1/memory", "HTTPS://APP.EXAMPLE.COM").headers[
        "Access-Control-Allow-Origin"] == "HTTPS://APP.EXAMPLE.COM"
    for near_miss in ("https://app.example.com.evil.example", "http://app.example.com", "http://localhost:51730"):
        assert cors_headers(preflight(cors_client, "/v1/memory", near_miss)) == {}, near_miss


def test_a_preflight_from_another_origin_gets_no_cors_headers(cors_client, make_key):
    assert cors_headers(preflight(cors_client, "/v1/memory", OTHER_ORIGIN)) == {}
    answer = cors_client.get("/v1/memory", headers=auth(make_key("alice"), Origin=OTHER_ORIGIN))
    assert answer.status_code == 200 and cors_headers(answer) == {}


def test_a_header_outside_the_list_is_not_allowed(cors_client):
    answer = cors_client.options("/v1/memory", headers={
        "Origin": APP_ORIGIN, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, x-something-else"})
    assert listed(answer.headers["Access-Control-Allow-Headers"]) == {"authorization"}


def test_error_envelopes_carry_cors_headers_for_an_allowed_origin(cors_client, make_key):
    key = make_key("alice")
    answers = {
        401: cors_client.get("/v1/memory", headers={"Origin": APP_ORIGIN}),
        404: cors_client.get("/v1/memory/mem_01JD0000000000000000000000", headers=auth(key, Origin=APP_ORIGIN)),
        405: cors_client.put("/v1/memory", headers=auth(key, Origin=APP_ORIGIN)),
    }
    answers["unknown route"] = cors_client.get("/v1/nothing-here", headers=auth(key, Origin=APP_ORIGIN))
    for what, answer in answers.items():
        assert answer.headers.get("Access-Control-Allow-Origin") == APP_ORIGIN, what
        assert "x-request-id" in listed(answer.headers["Access-Control-Expose-Headers"]), what
        assert set(answer.json["error"]) >= {"message", "type", "param", "code"}, what
    assert answers[401].json["error"]["code"] == "invalid_api_key"
    assert answers["unknown route"].status_code == 404


def test_a_preflight_to_an_unknown_route_passes_so_the_page_can_read_the_404(cors_client):
    assert preflight(cors_client, "/v1/nothing-here", APP_ORIGIN, "GET").status_code == 204


def test_the_headers_a_client_reads_are_exposed(cors_client, make_key):
    key = make_key("alice")
    created = cors_client.post("/v1/memory", json={"content": "I like tea."}, headers=auth(key, Origin=APP_ORIGIN))
    assert created.status_code == 200 and created.headers["ETag"]
    exposed = listed(created.headers["Access-Control-Expose-Headers"])
    assert {"etag", "x-request-id", "retry-after", "idempotent-replayed", "x-conversation-id"} <= exposed


def test_every_x_memory_response_header_the_service_sends_is_exposed():
    """A new x-memory-* header in the code must join the exposed list, or browser clients cannot see it."""
    sent = set()
    for path in (REPO / "memory_api").rglob("*.py"):
        sent |= {name.lower() for name in re.findall(r"[\"'](x-memory-[a-z-]+)[\"']", path.read_text(), re.I)}
    sent.discard("x-memory-user")  # a request header (ALLOWED_REQUEST_HEADERS)
    assert len(sent) >= 5, sent
    assert sent <= {h.lower() for h in EXPOSED_RESPONSE_HEADERS}
    assert "x-memory-user" in {h.lower() for h in ALLOWED_REQUEST_HEADERS}


def test_a_preflight_is_not_rate_limited(settings, services):
    app = create_app(settings.replace(cors_origins=APP_ORIGIN, rate_limit="1/minute"), services)
    client = app.test_client()
    for _ in range(3):
        assert preflight(client, "/v1/memory", APP_ORIGIN).status_code == 204


@pytest.mark.parametrize("value", ["https://app.example.com/", "app.example.com", "https://a.example/path",
                                   "ftp://a.example"])
def test_a_setting_that_could_never_match_an_origin_is_refused(value):
    with pytest.raises(ConfigError, match="MEMORY_API_CORS_ORIGINS"):
        Settings(cors_origins=value)


def test_a_wildcard_allows_any_origin(settings, services):
    client = create_app(settings.replace(cors_origins="*"), services).test_client()
    answer = preflight(client, "/v1/memory", OTHER_ORIGIN)
    assert answer.headers["Access-Control-Allow-Origin"] in ("*", OTHER_ORIGIN)
