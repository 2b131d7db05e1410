"""The memory REST API through Flask's test client: CRUD, isolation, pagination."""

from __future__ import annotations

import re

from helpers import auth

MEM_ID = re.compile(r"^mem_[0-9A-HJKMNP-TV-Z]{26}$")


def create(client, key, content="I like tea", **body):
    resp = client.post("/v1/memory", json={"content": content, **body}, headers=auth(key))
    assert resp.status_code == 200, resp.json
    return resp.json


def test_create_returns_memory_object_with_counts(client, make_key):
    key = make_key("alice")
    mem = create(client, key, "  My name is Alice and I live in Lyon.  ", metadata={"source": "chat"})
    assert MEM_ID.match(mem["id"])
    assert mem["object"] == "memory"
    assert mem["content"] == "My name is Alice and I live in Lyon."
    assert mem["metadata"] == {"source": "chat"}
    assert mem["word_count"] == 9
    assert mem["token_count"] == 10  # o200k_base; test_token_count_is_tiktoken_o200k checks tiktoken itself
    assert isinstance(mem["created_at"], int) and mem["created_at"] == mem["updated_at"]


def test_token_count_is_tiktoken_o200k(client, make_key):
    import tiktoken

    key = make_key("alice")
    text = "Ünïcødé and emoji 🎉 count as tiktoken says, not as an estimate."
    mem = create(client, key, text)
    assert mem["token_count"] == len(tiktoken.get_encoding("o200k_base").encode(text))


def test_get_update_delete_roundtrip(client, make_key):
    key = make_key("alice")
    mem = create(client, key)
    got = client.get(f"/v1/memory/{mem['id']}", headers=auth(key))
    assert got.status_code == 200 and got.json == mem
    assert got.headers["ETag"]

    patched = client.patch(f"/v1/memory/{mem['id']}", json={"content": "I like green tea a lot"}, headers=auth(key))
    assert patched.status_code == 200
    assert patched.json["content"] == "I like green tea a lot"
    assert patched.json["word_count"] == 6
    assert patched.json["metadata"] == {}
    assert patched.headers["ETag"] != got.headers["ETag"]

    posted = client.post(f"/v1/memory/{mem['id']}", json={"metadata": {"k": "v"}}, headers=auth(key))
    assert posted.status_code == 200
    assert posted.json["metadata"] == {"k": "v"}
    assert posted.json["content"] == "I like green tea a lot"

    deleted = client.delete(f"/v1/memory/{mem['id']}", headers=auth(key))
    assert deleted.status_code == 200
    assert deleted.json == {"id": mem["id"], "object": "memory.deleted", "deleted": True}
    assert client.get(f"/v1/memory/{mem['id']}", headers=auth(key)).status_code == 404
    again = client.delete(f"/v1/memory/{mem['id']}", headers=auth(key))
    assert again.status_code == 404
    assert again.json["error"]["type"] == "not_found_error"


def test_update_needs_content_or_metadata(client, make_key):
    key = make_key("alice")
    mem = create(client, key)
    resp = client.patch(f"/v1/memory/{mem['id']}", json={}, headers=auth(key))
    assert resp.status_code == 400
    assert resp.json["error"]["code"] == "empty_update"


def test_metadata_null_clears(client, make_key):
    key = make_key("alice")
    mem = create(client, key, metadata={"a": "b"})
    resp = client.patch(f"/v1/memory/{mem['id']}", json={"metadata": None}, headers=auth(key))
    assert resp.json["metadata"] == {}


def test_list_object_shape_and_order(client, make_key):
    key = make_key("alice")
    ids = [create(client, key, f"memory {i}")["id"] for i in range(5)]
    page = client.get("/v1/memory", headers=auth(key)).json
    assert page["object"] == "list"
    assert [m["id"] for m in page["data"]] == ids[::-1]
    assert page["first_id"] == ids[-1] and page["last_id"] == ids[0]
    assert page["has_more"] is False
    asc = client.get("/v1/memory?order=asc&limit=2", headers=auth(key)).json
    assert [m["id"] for m in asc["data"]] == ids[:2] and asc["has_more"] is True


def test_empty_list(client, make_key):
    page = client.get("/v1/memory", headers=auth(make_key("alice"))).json
    assert page == {"object": "list", "data": [], "first_id": None, "last_id": None, "has_more": False}


def test_cursor_walks_every_page_both_orders(client, make_key):
    key = make_key("alice")
    ids = [create(client, key, f"m{i}")["id"] for i in range(23)]
    for order, expected in (("desc", ids[::-1]), ("asc", ids)):
        seen, after = [], None
        while True:
            url = f"/v1/memory?limit=5&order={order}" + (f"&after={after}" if after else "")
            page = client.get(url, headers=auth(key)).json
            seen += [m["id"] for m in page["data"]]
            if not page["has_more"]:
                break
            after = page["last_id"]
        assert seen == expected


def test_before_cursor_returns_previous_page(client, make_key):
    key = make_key("alice")
    ids = [create(client, key, f"m{i}")["id"] for i in range(10)]
    desc = ids[::-1]
    page = client.get(f"/v1/memory?limit=3&before={desc[6]}", headers=auth(key)).json
    assert [m["id"] for m in page["data"]] == desc[3:6]
    assert page["has_more"] is True
    page = client.get(f"/v1/memory?limit=3&before={desc[2]}", headers=auth(key)).json
    assert [m["id"] for m in page["data"]] == desc[0:2]
    assert page["has_more"] is False
    between = client.get(f"/v1/memory?after={desc[1]}&before={desc[5]}", headers=auth(key)).json
    assert [m["id"] for m in between["data"]] == desc[2:5]


def test_cursor_survives_deletion_of_its_memory(client, make_key):
    key = make_key("alice")
    ids = [create(client, key, f"m{i}")["id"] for i in range(6)]
    first = client.get("/v1/memory?limit=3", headers=auth(key)).json
    cursor = first["last_id"]
    assert client.delete(f"/v1/memory/{cursor}", headers=auth(key)).status_code == 200
    second = client.get(f"/v1/memory?limit=3&after={cursor}", headers=auth(key)).json
    assert [m["id"] for m in second["data"]] == ids[::-1][3:6]


def test_users_are_isolated(client, make_key):
    alice, bob = make_key("alice"), make_key("bob")
    mem = create(client, alice, "alice's secret")
    assert client.get("/v1/memory", headers=auth(bob)).json["data"] == []
    for method in ("get", "delete"):
        resp = getattr(client, method)(f"/v1/memory/{mem['id']}", headers=auth(bob))
        assert resp.status_code == 404
        assert resp.json["error"]["type"] == "not_found_error"
    resp = client.patch(f"/v1/memory/{mem['id']}", json={"content": "pwned"}, headers=auth(bob))
    assert resp.status_code == 404
    assert client.get(f"/v1/memory/{mem['id']}", headers=auth(alice)).json["content"] == "alice's secret"


def test_service_key_acts_for_named_user(client, make_key):
    service = make_key(service="backend")
    alice = make_key("alice")
    mem = create(client, alice, "from alice")
    as_alice = {"X-Memory-User": "alice"}
    listed = client.get("/v1/memory", headers=auth(service, **as_alice)).json
    assert [m["id"] for m in listed["data"]] == [mem["id"]]
    as_carol = {"X-Memory-User": "carol"}
    created = client.post("/v1/memory", json={"content": "carol's"}, headers=auth(service, **as_carol))
    assert created.status_code == 200
    assert client.get("/v1/memory", headers=auth(alice)).json["data"][0]["id"] == mem["id"]
    assert client.get(f"/v1/memory/{created.json['id']}", headers=auth(service, **as_alice)).status_code == 404


def test_service_key_without_user_header_is_400(client, make_key):
    service = make_key(service="backend")
    resp = client.get("/v1/memory", headers=auth(service))
    assert resp.status_code == 400
    assert resp.json["error"]["param"] == "X-Memory-User"
    bad = client.get("/v1/memory", headers=auth(service, **{"X-Memory-User": "{evil}"}))
    assert bad.status_code == 400 and bad.json["error"]["code"] == "invalid_user_id"


def test_user_key_cannot_name_another_user(client, make_key):
    alice = make_key("alice")
    resp = client.get("/v1/memory", headers=auth(alice, **{"X-Memory-User": "bob"}))
    assert resp.status_code == 403
    assert resp.json["error"]["type"] == "permission_error"
    same = client.get("/v1/memory", headers=auth(alice, **{"X-Memory-User": "alice"}))
    assert same.status_code == 200


def test_request_id_on_every_response(client, make_key):
    key = make_key("alice")
    for resp in (
        client.get("/v1/memory", headers=auth(key)),
        client.get("/v1/memory"),
        client.get("/nope"),
        client.get("/healthz"),
    ):
        assert resp.headers["x-request-id"]
    echoed = client.get("/healthz", headers={"X-Request-Id": "abc-123"})
    assert echoed.headers["x-request-id"] == "abc-123"


def test_healthz(client):
    resp = client.get("/healthz")
    assert resp.status_code == 200 and resp.json["status"] == "ok" and resp.json["redis"] == "ok"
    caps = resp.json["capabilities"]
    assert caps["vector_sets"] is True and caps["semantic_search"] is True  # the suite's Redis is >= 8
    assert caps["redis_version"].split(".")[0] >= "8" and caps["embedding_model"] == "all-MiniLM-L6-v2-int8-dynq2"
    assert caps["semantic_unavailable_reason"] is None
