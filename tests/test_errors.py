"""Every error is OpenAI's envelope, with the right status, type, code and param."""

from __future__ import annotations

import json

import pytest

from helpers import auth, free_port
from memory_api import create_app
from memory_api.config import Settings
from memory_api.store import keys as redis_keys


def assert_envelope(resp, status, type_=None, param=None, code=None):
    assert resp.status_code == status, resp.get_data(as_text=True)
    assert resp.mimetype == "application/json"
    body = resp.get_json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"message", "type", "param", "code"}
    assert body["error"]["message"]
    assert "Traceback" not in resp.get_data(as_text=True)
    if type_:
        assert body["error"]["type"] == type_
    if param:
        assert body["error"]["param"] == param
    if code:
        assert body["error"]["code"] == code
    assert resp.headers["x-request-id"]
    return body["error"]


@pytest.fixture
def key(make_key):
    return make_key("alice")


def post_raw(client, key, data, content_type="application/json", path="/v1/memory"):
    return client.post(path, data=data, headers={**auth(key), "Content-Type": content_type})


def test_invalid_json(client, key):
    assert_envelope(post_raw(client, key, b'{"content": "x",'), 400, "invalid_request_error", code="invalid_json")


def test_invalid_utf8(client, key):
    assert_envelope(post_raw(client, key, b'{"content": "\xff\xfe"}'), 400, "invalid_request_error")


def test_non_object_body(client, key):
    for body in (b"[1, 2]", b'"text"', b"42", b"null"):
        assert_envelope(post_raw(client, key, body), 400, "invalid_request_error")


def test_deeply_nested_json(client, key):
    body = b'{"content": "x", "metadata": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    assert_envelope(post_raw(client, key, body), 400, "invalid_request_error")


def test_wrong_content_type_is_415(client, key):
    err = assert_envelope(post_raw(client, key, b"content=x", "application/x-www-form-urlencoded"), 415)
    assert err["code"] == "unsupported_media_type"
    assert_envelope(post_raw(client, key, b'{"content": "x"}', "text/plain"), 415)


def test_body_over_limit_is_413(redis_server, redis_client, tmp_path):
    settings = Settings(redis_url=redis_server.url, max_body_bytes=1000, log_level="WARNING")
    app = create_app(settings)
    secret, _ = app.extensions["memory_api"].keys.create(user="alice")
    resp = app.test_client().post("/v1/memory", json={"content": "x" * 2000}, headers=auth(secret))
    assert_envelope(resp, 413, "invalid_request_error", code="request_too_large")


@pytest.mark.parametrize(
    "body, param, code",
    [
        ({}, "content", None),
        ({"content": 5}, "content", None),
        ({"content": None}, "content", None),
        ({"content": "   \n\t "}, "content", "empty_value"),
        ({"content": "x" * 4001}, "content", "string_above_max_length"),
        ({"content": "nul \u0000 byte"}, "content", "invalid_characters"),
        ({"content": "bell \u0007"}, "content", "invalid_characters"),
        ({"content": "lone \ud800 surrogate"}, "content", "invalid_characters"),
        ({"content": "ok", "extra": 1}, "extra", "unknown_parameter"),
        ({"content": "ok", "metadata": "str"}, "metadata", None),
        ({"content": "ok", "metadata": {"k": 1}}, "metadata", None),
        ({"content": "ok", "metadata": {f"k{i}": "v" for i in range(17)}}, "metadata", "too_many_keys"),
        ({"content": "ok", "metadata": {"k" * 65: "v"}}, "metadata", "string_above_max_length"),
        ({"content": "ok", "metadata": {"k": "v" * 513}}, "metadata", "string_above_max_length"),
        ({"content": "ok", "metadata": {"": "v"}}, "metadata", "empty_value"),
        ({"content": "ok", "metadata": {"k": {"nested": "x"}}}, "metadata", None),
    ],
)
def test_bad_create_bodies(client, key, body, param, code):
    resp = client.post("/v1/memory", data=json.dumps(body), headers={**auth(key), "Content-Type": "application/json"})
    assert_envelope(resp, 400, "invalid_request_error", param=param, code=code)
    assert client.get("/v1/memory", headers=auth(key)).json["data"] == []  # nothing half written


def test_lone_surrogate_escape_in_raw_json(client, key):
    resp = post_raw(client, key, b'{"content": "bad \\udc80 escape"}')
    assert_envelope(resp, 400, "invalid_request_error", param="content")


@pytest.mark.parametrize(
    "query, param",
    [
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("limit=-1", "limit"),
        ("limit=abc", "limit"),
        ("limit=1.5", "limit"),
        ("order=sideways", "order"),
        ("after=garbage", "after"),
        ("before=mem_short", "before"),
        ("after=mem_01JD000000000000000000000%2F", "after"),
        ("limit=1&limit=2", "limit"),
        ("colour=red", "colour"),
    ],
)
def test_bad_list_queries(client, key, query, param):
    assert_envelope(client.get(f"/v1/memory?{query}", headers=auth(key)), 400, "invalid_request_error", param=param)


@pytest.mark.parametrize(
    "memory_id", ["nope", "mem_123", "mem_01JD0000000000000000000000x", "mem_01jd0000000000000000000000", "%2E%2E"]
)
def test_malformed_ids_are_400(client, key, memory_id):
    resp = client.get(f"/v1/memory/{memory_id}", headers=auth(key))
    assert_envelope(resp, 400, "invalid_request_error", param="memory_id", code="invalid_id")


@pytest.mark.parametrize(
    "path", ["/v1/memory/..%2F..%2Fetc", "/v1/memory/mem_01JD0000000000000000000000/../x", "/v1/memory/%00"]
)
def test_path_tricks_are_4xx_envelopes(client, key, path):
    resp = client.get(path, headers=auth(key))
    assert resp.status_code in (400, 404)
    assert_envelope(resp, resp.status_code)


def test_unknown_route_is_404_envelope(client):
    assert_envelope(client.get("/v2/nothing"), 404, "not_found_error")
    assert_envelope(client.get("/"), 404, "not_found_error")


def test_wrong_method_is_405_envelope(client, key):
    resp = client.put("/v1/memory", json={}, headers=auth(key))
    err = assert_envelope(resp, 405, "invalid_request_error", code="method_not_allowed")
    assert "PUT" in err["message"]
    assert "GET" in resp.headers["Allow"]


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer"},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": "Bearer sk-mem-wrong"},
        {"Authorization": "Bearer " + "x" * 5000},
        {"Authorization": "Bearer sk-mem-\u00e9\u00e8"},
    ],
)
def test_missing_or_garbled_keys_are_401(client, headers):
    resp = client.get("/v1/memory", headers=headers)
    assert_envelope(resp, 401, "authentication_error", code="invalid_api_key")
    # the challenge HTTP asks of a 401 (RFC 6750): an error attribute only when a key was sent
    assert resp.headers["WWW-Authenticate"].startswith('Bearer realm="memory-api"')
    assert ('error="invalid_token"' in resp.headers["WWW-Authenticate"]) == bool(headers)


def test_revoked_key_is_401(client, services, make_key):
    key = make_key("alice")
    assert client.get("/v1/memory", headers=auth(key)).status_code == 200
    services.keys.revoke(key)
    assert_envelope(client.get("/v1/memory", headers=auth(key)), 401, "authentication_error")


def test_auth_is_checked_before_the_body(client):
    resp = client.post("/v1/memory", data=b"not json", headers={"Content-Type": "application/json"})
    assert_envelope(resp, 401, "authentication_error")


def test_corrupt_record_is_500_without_trace(client, key, redis_client):
    mem = client.post("/v1/memory", json={"content": "fine"}, headers=auth(key)).json
    redis_client.hset(redis_keys.memory_items("alice"), mem["id"], b"\x00not json")
    err = assert_envelope(client.get(f"/v1/memory/{mem['id']}", headers=auth(key)), 500, "server_error")
    assert "json" not in err["message"].lower()


def test_redis_unreachable_is_503(tmp_path):
    settings = Settings(redis_url=f"redis://127.0.0.1:{free_port()}/0", redis_timeout=0.5, log_level="CRITICAL")
    client = create_app(settings).test_client()
    resp = client.get("/v1/memory", headers=auth("sk-mem-anything"))
    assert_envelope(resp, 503, "service_unavailable_error", code="store_unavailable")
    assert resp.headers["Retry-After"]
    assert_envelope(client.get("/healthz"), 503, code="store_unavailable")


# --- messages that say what is wrong ------------------------------------------------------------------------

def test_a_lowercase_id_is_told_ids_are_upper_case(client, make_key):
    key = make_key("alice")
    memory_id = client.post("/v1/memory", json={"content": "x"}, headers=auth(key)).json["id"]
    lower = "mem_" + memory_id[4:].lower()
    for path, param in ((f"/v1/memory?after={lower}", "after"), (f"/v1/memory/{lower}", "memory_id")):
        err = assert_envelope(client.get(path, headers=auth(key)), 400, "invalid_request_error", code="invalid_id")
        assert f"ids are upper-case (did you mean '{memory_id}')" in err["message"] and err["param"] == param
    short = assert_envelope(client.get("/v1/memory/mem_nope", headers=auth(key)), 400, "invalid_request_error")
    assert "it has 4 characters after 'mem_', not 26" in short["message"]


def test_a_too_long_metadata_value_names_its_key(client, make_key):
    resp = client.post("/v1/memory", json={"content": "x", "metadata": {"colour": "y" * 513}},
                       headers=auth(make_key("alice")))
    err = assert_envelope(resp, 400, "invalid_request_error", code="string_above_max_length")
    assert err["message"] == "'metadata.colour' is 513 characters long; the maximum is 512."


@pytest.mark.parametrize("query", ["%ff%fe", "tea%ff", "caf%e9"])
def test_a_query_string_that_is_not_utf8_is_400(client, make_key, query):
    key = make_key("alice")
    client.post("/v1/memory", json={"content": "I like tea"}, headers=auth(key))
    err = assert_envelope(client.get(f"/v1/memory/search?query={query}", headers=auth(key)), 400,
                          "invalid_request_error", code="invalid_encoding")
    assert err["param"] == "query"
    assert client.get("/v1/memory/search?query=caf%C3%A9", headers=auth(key)).status_code == 200  # UTF-8 is fine


def test_after_and_before_give_the_range_between_or_a_400(client, make_key):
    key = make_key("alice")
    ids = [client.post("/v1/memory", json={"content": f"m{i}"}, headers=auth(key)).json["id"] for i in range(4)]
    desc = ids[::-1]
    between = client.get(f"/v1/memory?after={desc[0]}&before={desc[3]}", headers=auth(key)).json
    assert [m["id"] for m in between["data"]] == desc[1:3]
    for order, after, before in (("desc", desc[3], desc[0]), ("desc", ids[1], ids[1]), ("asc", ids[3], ids[0])):
        resp = client.get(f"/v1/memory?order={order}&after={after}&before={before}", headers=auth(key))
        err = assert_envelope(resp, 400, "invalid_request_error", code="invalid_cursor_range")
        assert err["param"] == "before"
    conversations = client.get(f"/v1/conversations?after={desc[0].replace('mem_', 'conv_')}"
                               f"&before={desc[0].replace('mem_', 'conv_')}", headers=auth(key))
    assert_envelope(conversations, 400, "invalid_request_error", code="invalid_cursor_range")


@pytest.mark.parametrize("charset", ["latin-1", "ISO-8859-1", "utf-16"])
def test_a_body_in_another_charset_than_utf8_is_415(client, make_key, charset):
    key = make_key("alice")
    resp = client.post("/v1/memory", data='{"content": "caf\u00e9"}'.encode("latin-1"),
                       headers={**auth(key), "Content-Type": f"application/json; charset={charset}"})
    err = assert_envelope(resp, 415, "invalid_request_error", code="unsupported_media_type")
    assert err["param"] == "Content-Type" and charset in err["message"]
    assert client.get("/v1/memory", headers=auth(key)).json["data"] == []
    ok = client.post("/v1/memory", data='{"content": "caf\u00e9"}'.encode(),
                     headers={**auth(key), "Content-Type": "application/json; charset=UTF-8"})
    assert ok.status_code == 200 and ok.json["content"] == "caf\u00e9"
