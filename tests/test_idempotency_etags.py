"""Writes that survive retries and races: Idempotency-Key and ETag / If-Match."""

from __future__ import annotations

import threading

import openai
import pytest

from helpers import auth


def idem(key, value, **extra):
    return {**auth(key), "Idempotency-Key": value, **extra}


def count(client, key):
    return len(client.get("/v1/memory?limit=100", headers=auth(key)).json["data"])


def test_retried_create_returns_the_first_answer_and_creates_once(client, make_key):
    key = make_key("alice")
    first = client.post("/v1/memory", json={"content": "once"}, headers=idem(key, "k-1"))
    again = client.post("/v1/memory", json={"content": "once"}, headers=idem(key, "k-1"))
    assert first.status_code == again.status_code == 200
    assert again.json == first.json
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.headers["ETag"] == first.headers["ETag"]
    assert "Idempotent-Replayed" not in first.headers
    assert count(client, key) == 1
    other = client.post("/v1/memory", json={"content": "another"}, headers=idem(key, "k-2"))
    assert other.json["id"] != first.json["id"] and count(client, key) == 2


def test_same_key_different_body_is_409(client, make_key):
    key = make_key("alice")
    client.post("/v1/memory", json={"content": "a"}, headers=idem(key, "k"))
    resp = client.post("/v1/memory", json={"content": "b"}, headers=idem(key, "k"))
    assert resp.status_code == 409
    assert resp.json["error"]["code"] == "idempotency_key_reused"
    assert resp.json["error"]["param"] == "Idempotency-Key"
    assert count(client, key) == 1


def test_equivalent_json_bodies_are_the_same_request(client, make_key):
    key = make_key("alice")
    a = client.post("/v1/memory", data='{"content": "x", "metadata": {"a": "1", "b": "2"}}',
                    content_type="application/json", headers=idem(key, "k"))
    b = client.post("/v1/memory", data='{"metadata":{"b":"2","a":"1"},"content":"x"}',
                    content_type="application/json", headers=idem(key, "k"))
    assert b.status_code == 200 and b.json == a.json


def test_keys_are_scoped_to_the_user(client, make_key):
    alice, bob = make_key("alice"), make_key("bob")
    a = client.post("/v1/memory", json={"content": "alice's"}, headers=idem(alice, "shared"))
    b = client.post("/v1/memory", json={"content": "bob's"}, headers=idem(bob, "shared"))
    assert b.status_code == 200 and "Idempotent-Replayed" not in b.headers
    assert a.json["id"] != b.json["id"]


def test_errors_are_replayed_but_server_errors_are_not_stored(client, make_key, redis_client):
    key = make_key("alice")
    missing = "mem_01JD0000000000000000000000"
    first = client.delete(f"/v1/memory/{missing}", headers=idem(key, "d"))
    again = client.delete(f"/v1/memory/{missing}", headers=idem(key, "d"))
    assert first.status_code == again.status_code == 404 and again.headers["Idempotent-Replayed"] == "true"


def test_retried_delete_and_update(client, make_key):
    key = make_key("alice")
    mem = client.post("/v1/memory", json={"content": "x"}, headers=auth(key)).json
    d1 = client.delete(f"/v1/memory/{mem['id']}", headers=idem(key, "del"))
    d2 = client.delete(f"/v1/memory/{mem['id']}", headers=idem(key, "del"))
    assert d1.status_code == d2.status_code == 200 and d2.json == d1.json  # not a 404 on the retry
    mem = client.post("/v1/memory", json={"content": "y"}, headers=auth(key)).json
    u1 = client.patch(f"/v1/memory/{mem['id']}", json={"content": "z"}, headers=idem(key, "up"))
    u2 = client.patch(f"/v1/memory/{mem['id']}", json={"content": "z"}, headers=idem(key, "up"))
    assert u2.json == u1.json
    assert client.get(f"/v1/memory/{mem['id']}", headers=auth(key)).headers["ETag"] == u1.headers["ETag"]


def test_window_expiry(client, make_key, redis_client):
    key = make_key("alice")
    client.post("/v1/memory", json={"content": "x"}, headers=idem(key, "exp"))
    records = redis_client.keys("*:idem:*")
    assert len(records) == 1
    ttl = redis_client.ttl(records[0])
    assert 86000 < ttl <= 86400  # MEMORY_API_IDEMPOTENCY_WINDOW_SECONDS
    redis_client.delete(records[0])  # as if the window had passed
    again = client.post("/v1/memory", json={"content": "x"}, headers=idem(key, "exp"))
    assert "Idempotent-Replayed" not in again.headers  # processed afresh: a duplicate of the first
    assert again.status_code == 409 and again.json["error"]["code"] == "duplicate_memory"
    assert count(client, key) == 1


def test_bad_idempotency_key(client, make_key):
    resp = client.post("/v1/memory", json={"content": "x"}, headers=idem(make_key("alice"), "x" * 256))
    assert resp.status_code == 400 and resp.json["error"]["param"] == "Idempotency-Key"


def test_concurrent_retries_create_once(app, make_key):
    key = make_key("alice")
    results = []

    def send():
        results.append(app.test_client().post("/v1/memory", json={"content": "race"}, headers=idem(key, "race")))

    threads = [threading.Thread(target=send) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ok = [r for r in results if r.status_code == 200]
    assert ok and all(r.status_code in (200, 409) for r in results)
    assert len({r.json["id"] for r in ok}) == 1
    busy = [r for r in results if r.status_code == 409]
    assert all(r.json["error"]["code"] == "idempotency_key_in_use" for r in busy)
    assert count(app.test_client(), key) == 1


def test_a_crashed_first_attempt_is_taken_over_without_a_duplicate(app, services, make_key, redis_client):
    """The first attempt stored the memory but died before storing its answer."""
    from memory_api.api.idempotency import fingerprint

    key = make_key("alice")
    body = b'{"content": "survives a crash"}'
    reservation = services.idempotency.begin("alice", "crash", fingerprint("POST", "/v1/memory", "", body),
                                             param="Idempotency-Key")
    services.memories.create("alice", "survives a crash", memory_id=f"mem_{reservation.nonce}")
    # ... worker killed here: no answer stored. After the lease, a retry takes over:
    for name in redis_client.keys("*:idem:*"):
        redis_client.hset(name, "lease_until", 0)
    resp = app.test_client().post("/v1/memory", data=body, content_type="application/json",
                                  headers=idem(key, "crash"))
    assert resp.status_code == 200 and resp.json["id"] == f"mem_{reservation.nonce}"
    assert count(app.test_client(), key) == 1


def test_sdk_sends_idempotency_keys(sdk, make_key):
    client = sdk(make_key("alice"))
    # The public way: a header per request.
    a = client.post("/memory", cast_to=dict, body={"content": "sdk"}, options={"headers": {"Idempotency-Key": "s1"}})
    b = client.post("/memory", cast_to=dict, body={"content": "sdk"}, options={"headers": {"Idempotency-Key": "s1"}})
    assert a == b
    with pytest.raises(openai.ConflictError) as info:
        client.post("/memory", cast_to=dict, body={"content": "other"}, options={"headers": {"Idempotency-Key": "s1"}})
    assert info.value.code == "idempotency_key_reused"
    # The SDK's own idempotency_key option (it names no header unless told which one).
    client._idempotency_header = "Idempotency-Key"
    c = client.post("/memory", cast_to=dict, body={"content": "opt"}, options={"idempotency_key": "s2"})
    d = client.post("/memory", cast_to=dict, body={"content": "opt"}, options={"idempotency_key": "s2"})
    assert c == d
    listed = client.get("/memory", cast_to=dict)["data"]
    assert sorted(m["content"] for m in listed) == ["opt", "sdk"]


# --- ETags ---------------------------------------------------------------------------


def test_if_match_guards_updates_and_deletes(client, make_key):
    key = make_key("alice")
    created = client.post("/v1/memory", json={"content": "v1"}, headers=auth(key))
    etag = created.headers["ETag"]
    ok = client.patch(f"/v1/memory/{created.json['id']}", json={"content": "v2"},
                      headers=auth(key, **{"If-Match": etag}))
    assert ok.status_code == 200 and ok.headers["ETag"] != etag
    stale = client.patch(f"/v1/memory/{created.json['id']}", json={"content": "v3"},
                         headers=auth(key, **{"If-Match": etag}))
    assert stale.status_code == 412
    assert stale.json["error"]["code"] == "precondition_failed"
    assert client.get(f"/v1/memory/{created.json['id']}", headers=auth(key)).json["content"] == "v2"
    assert client.delete(f"/v1/memory/{created.json['id']}", headers=auth(key, **{"If-Match": etag})).status_code == 412
    assert client.post(f"/v1/memory/{created.json['id']}", json={"content": "v3"},
                       headers=auth(key, **{"If-Match": f'"0", {ok.headers["ETag"]}'})).status_code == 200
    for garbage in ('W/' + etag, "nonsense", '""'):
        assert client.delete(f"/v1/memory/{created.json['id']}",
                             headers=auth(key, **{"If-Match": garbage})).status_code == 412
    assert client.delete(f"/v1/memory/{created.json['id']}", headers=auth(key, **{"If-Match": "*"})).status_code == 200


def test_if_none_match_gives_304(client, make_key):
    key = make_key("alice")
    created = client.post("/v1/memory", json={"content": "v1"}, headers=auth(key))
    url = f"/v1/memory/{created.json['id']}"
    resp = client.get(url, headers=auth(key, **{"If-None-Match": created.headers["ETag"]}))
    assert resp.status_code == 304 and resp.data == b"" and resp.headers["ETag"] == created.headers["ETag"]
    client.patch(url, json={"content": "v2"}, headers=auth(key))
    resp = client.get(url, headers=auth(key, **{"If-None-Match": created.headers["ETag"]}))
    assert resp.status_code == 200 and resp.json["content"] == "v2"


def test_concurrent_if_match_updates_never_lose_an_update(app, make_key):
    """Many threads increment a counter stored in a memory, read-modify-write with If-Match."""
    key = make_key("alice")
    client = app.test_client()
    mem = client.post("/v1/memory", json={"content": "0"}, headers=auth(key)).json
    url = f"/v1/memory/{mem['id']}"
    done = []
    conflicts = []

    def worker():
        c = app.test_client()
        for _ in range(15):
            while True:
                current = c.get(url, headers=auth(key))
                value = int(current.json["content"])
                resp = c.patch(url, json={"content": str(value + 1)},
                               headers=auth(key, **{"If-Match": current.headers["ETag"]}))
                if resp.status_code == 200:
                    done.append(1)
                    break
                assert resp.status_code == 412
                conflicts.append(1)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    final = int(client.get(url, headers=auth(key)).json["content"])
    assert final == len(done) == 8 * 15
    assert conflicts, "the threads really raced"
