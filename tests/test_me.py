"""GET /v1/me over REST: who a key acts for."""

from __future__ import annotations

from helpers import auth


def test_a_user_key_is_its_user(client, make_key, services):
    key = make_key("alice")
    resp = client.get("/v1/me", headers=auth(key))
    assert resp.status_code == 200, resp.json
    me = resp.json
    assert me == {"object": "user", "id": "alice", "key_id": me["key_id"], "kind": "user", "service": None}
    assert me["key_id"] in {record.id for record in services.keys.list()} and me["key_id"] not in key


def test_a_service_key_is_the_user_it_names(client, make_key):
    key = make_key(service="backend")
    me = client.get("/v1/me", headers={**auth(key), "X-Memory-User": "bob"}).json
    assert (me["object"], me["id"], me["kind"], me["service"]) == ("user", "bob", "service", "backend")
    missing = client.get("/v1/me", headers=auth(key))
    assert missing.status_code == 400 and missing.json["error"]["code"] == "missing_user"


def test_no_key_no_answer(client):
    resp = client.get("/v1/me")
    assert resp.status_code == 401 and resp.json["error"]["code"] == "invalid_api_key"
