"""Batch writes, delete-all, export and import (HTTP, CLI, SDK and a generated client)."""

from __future__ import annotations

import json

import openai

from helpers import auth
from test_serve_embedded import cli


def create(client, key, content, **extra):
    return client.post("/v1/memory", json={"content": content, **extra}, headers=auth(key)).json


def listed(client, key):
    return client.get("/v1/memory?limit=100", headers=auth(key)).json["data"]


def test_batch_create_is_all_or_nothing(client, make_key):
    key = make_key("alice")
    bad = client.post("/v1/memory/batch", json={"memories": [{"content": "ok"}, {"content": " "}]},
                      headers=auth(key))
    assert bad.status_code == 400 and bad.json["error"]["param"] == "memories[1].content"
    assert listed(client, key) == []
    too_many = client.post("/v1/memory/batch", json={"memories": [{"content": str(i)} for i in range(101)]},
                           headers=auth(key))
    assert too_many.status_code == 400
    existing = create(client, key, "already here")
    repeated = client.post("/v1/memory/batch", json={"memories": [
        {"content": "first", "tags": ["a"]}, {"content": "FIRST"}]}, headers=auth(key))
    assert repeated.status_code == 409 and repeated.json["error"]["code"] == "duplicate_in_batch"
    assert repeated.json["error"]["param"] == "memories[1].content" and "memories[0]" in repeated.json["error"]["message"]
    stored = client.post("/v1/memory/batch", json={"memories": [
        {"content": "first"}, {"content": "already  here"}]}, headers=auth(key))
    assert stored.status_code == 409 and stored.json["error"]["code"] == "duplicate_memory"
    assert stored.json["error"]["param"] == "memories[1].content"
    assert stored.json["error"]["existing_id"] == existing["id"] and existing["id"] in stored.json["error"]["message"]
    assert len(listed(client, key)) == 1  # all or nothing: "first" was not stored either
    ok = client.post("/v1/memory/batch", json={"memories": [
        {"content": "first", "tags": ["a"]}, {"content": "first", "scope": "p"}]}, headers=auth(key)).json
    assert [m["scope"] for m in ok["data"]] == [None, "p"] and "duplicate" not in ok["data"][0]
    assert len(listed(client, key)) == 3


def test_batch_delete_reports_each_id(client, make_key):
    key = make_key("alice")
    a, b = create(client, key, "a"), create(client, key, "b")
    missing = "mem_01JD0000000000000000000000"
    resp = client.post("/v1/memory/batch_delete", json={"ids": [a["id"], missing, b["id"]]}, headers=auth(key))
    assert [(d["id"], d["deleted"]) for d in resp.json["data"]] == [(a["id"], True), (missing, False),
                                                                    (b["id"], True)]
    assert listed(client, key) == []
    bad = client.post("/v1/memory/batch_delete", json={"ids": ["nope"]}, headers=auth(key))
    assert bad.status_code == 400 and bad.json["error"]["param"] == "ids"


def test_delete_all_needs_confirmation(client, make_key):
    key, other = make_key("alice"), make_key("bob")
    for batch in range(6):  # 600: more than one of delete-all's chunks of 500
        client.post("/v1/memory/batch", json={"memories": [{"content": f"m{batch}-{i}"} for i in range(100)]},
                    headers=auth(key))
    create(client, other, "bob keeps his")
    assert client.delete("/v1/memory", headers=auth(key)).status_code == 400
    assert client.delete("/v1/memory?confirm=yes", headers=auth(key)).status_code == 400
    done = client.delete("/v1/memory?confirm=true", headers=auth(key)).json
    assert done == {"object": "memory.deleted_all", "deleted_count": 600}
    assert listed(client, key) == [] and len(listed(client, other)) == 1
    assert client.get("/v1/memory/stats", headers=auth(key)).json["count"] == 0


def export(client, key) -> list[dict]:
    resp = client.get("/v1/memory/export", headers=auth(key))
    assert resp.status_code == 200 and resp.mimetype == "application/x-ndjson"
    return [json.loads(line) for line in resp.data.decode().splitlines()]


def test_export_import_round_trip(client, make_key):
    alice, bob = make_key("alice"), make_key("bob")
    a = create(client, alice, "Allergic to peanuts", tags=["health"], metadata={"src": "chat"})
    create(client, alice, "Project Falcon ships in March", scope="falcon")
    client.patch(f"/v1/memory/{a['id']}", json={"content": "Allergic to peanuts and shellfish"}, headers=auth(alice))
    first = export(client, alice)
    assert first[0]["format"] == "memory-api.memories" and first[0]["version"] == 1
    assert len(first) == 3 and first[1]["history"][0]["content"] == "Allergic to peanuts"
    body = "\n".join(json.dumps(line) for line in first)
    imported = client.post("/v1/memory/import", data=body, content_type="application/x-ndjson",
                           headers=auth(bob)).json
    assert imported == {"object": "memory.import", "total": 2, "created": 2, "overwritten": 0, "skipped": 0}
    again = export(client, bob)
    assert again[1:] == first[1:]  # the same memories: ids, times, revisions, tags, scope, history
    assert client.get(f"/v1/memory/{a['id']}", headers=auth(bob)).json["content"] == \
        "Allergic to peanuts and shellfish"
    found = client.get("/v1/memory/search?query=shellfish", headers=auth(bob)).json["data"]
    assert [m["id"] for m in found] == [a["id"]]  # the search index came along


def test_import_conflicts_and_bad_lines(client, make_key):
    key = make_key("alice")
    mem = create(client, key, "original")
    lines = export(client, key)
    lines[1]["content"] = "replaced"
    body = "\n".join(json.dumps(line) for line in lines)
    skipped = client.post("/v1/memory/import", data=body, content_type="application/x-ndjson", headers=auth(key))
    assert skipped.json["skipped"] == 1
    assert client.get(f"/v1/memory/{mem['id']}", headers=auth(key)).json["content"] == "original"
    over = client.post("/v1/memory/import?on_conflict=overwrite", data=body, content_type="application/x-ndjson",
                       headers=auth(key))
    assert over.json["overwritten"] == 1
    assert client.get(f"/v1/memory/{mem['id']}", headers=auth(key)).json["content"] == "replaced"
    broken = body + "\n" + json.dumps({"id": "mem_01JD0000000000000000000000", "content": "",
                                       "updated_at": 1, "revision": 1})
    resp = client.post("/v1/memory/import?on_conflict=overwrite", data=broken,
                       content_type="application/x-ndjson", headers=auth(key))
    assert resp.status_code == 400 and resp.json["error"]["param"] == "line 3.content"
    for garbage in ("not json", '{"format": "other"}', ""):
        resp = client.post("/v1/memory/import", data=garbage, content_type="application/x-ndjson",
                           headers=auth(key))
        assert resp.status_code == 400 and resp.json["error"]["code"] == "invalid_import"
    assert client.post("/v1/memory/import", data=body, content_type="text/csv", headers=auth(key)).status_code == 415


def test_cli_export_and_import(tmp_path, redis_server, client, make_key):
    key = make_key("alice")
    create(client, key, "kept through a backup", tags=["t"])
    backup = tmp_path / "alice.jsonl"
    out = cli(tmp_path, "export", "--user", "alice", "--output", str(backup), REDIS_URL=redis_server.url)
    assert out.returncode == 0, out.stderr
    assert "kept through a backup" in backup.read_text()
    into = cli(tmp_path, "import", "--user", "carol", str(backup), REDIS_URL=redis_server.url)
    assert into.returncode == 0, into.stderr
    assert json.loads(into.stdout)["created"] == 1
    carol = make_key("carol")
    assert [m["content"] for m in listed(client, carol)] == ["kept through a backup"]
    to_stdout = cli(tmp_path, "export", "--user", "carol", REDIS_URL=redis_server.url)
    assert to_stdout.stdout.splitlines()[1] == backup.read_text().splitlines()[1]


def test_every_new_endpoint_through_the_sdk(sdk, make_key):
    client = sdk(make_key("alice"))
    created = client.post("/memory/batch", cast_to=dict, body={"memories": [
        {"content": "tea at five", "tags": ["habit"]}, {"content": "coffee at nine", "scope": "work"}]})["data"]
    found = client.get("/memory/search", cast_to=dict, options={"params": {"query": "tea"}})["data"]
    assert [m["id"] for m in found] == [created[0]["id"]]
    assert client.get("/memory/tags", cast_to=dict)["data"][0]["tag"] == "habit"
    assert client.get("/memory/stats", cast_to=dict)["count"] == 2
    client.patch(f"/memory/{created[0]['id']}", cast_to=dict, body={"content": "tea at six"})
    assert client.get(f"/memory/{created[0]['id']}/history", cast_to=dict)["data"][0]["content"] == "tea at five"
    ctx = client.post("/memory/context", cast_to=dict, body={"query": "coffee", "scope": "work"})
    assert ctx["memory_ids"][0] == created[1]["id"]
    exported = client.get("/memory/export", cast_to=str)
    assert exported.count("\n") == 3
    imported = client.post("/memory/import", cast_to=dict, body=None, content=exported.encode(),
                           options={"headers": {"Content-Type": "application/x-ndjson"}})
    assert imported["skipped"] == 2
    deleted = client.post("/memory/batch_delete", cast_to=dict, body={"ids": [created[0]["id"]]})
    assert deleted["data"][0]["deleted"] is True
    assert client.delete("/memory", cast_to=dict, options={"params": {"confirm": "true"}})["deleted_count"] == 1
    try:
        client.delete("/memory", cast_to=dict)
    except openai.BadRequestError as err:
        assert err.param == "confirm"
    else:
        raise AssertionError("delete-all without confirm must fail")
