"""Batch writes, delete-all, export and import (HTTP, CLI, SDK and a generated client)."""

from __future__ import annotations

import io
import json

import openai

from helpers import auth
from memory_api import create_app
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


def export_json(client, key, **query) -> dict:
    resp = client.get("/v1/memory/export", query_string={"format": "json", **query}, headers=auth(key))
    assert resp.status_code == 200 and resp.mimetype == "application/json", resp.data
    assert resp.headers["Content-Disposition"] == 'attachment; filename="memories.json"'
    return resp.json


def test_export_and_import_as_one_json_object(client, make_key):
    """format=json: the JSON Lines export's first line and its memory lines in `data`; importing it (or only
    its `data`) as application/json into another user gives the same memories."""
    alice, bob, carol = make_key("alice"), make_key("bob"), make_key("carol")
    a = create(client, alice, "Allergic to peanuts", tags=["health"], metadata={"src": "chat"}, occurred_at=1000)
    create(client, alice, "Project Falcon ships in March", scope="falcon")
    client.patch(f"/v1/memory/{a['id']}", json={"content": "Allergic to peanuts and shellfish"}, headers=auth(alice))
    lines = export(client, alice)
    document = export_json(client, alice)
    assert set(document) == {"object", "format", "version", "user", "exported_at", "data"}
    assert {k: v for k, v in document.items() if k not in ("data", "exported_at")} == \
        {k: v for k, v in lines[0].items() if k != "exported_at"}
    assert document["object"] == "memory.export" and document["user"] == "alice"
    assert document["data"] == lines[1:]  # the same line objects, oldest first

    imported = client.post("/v1/memory/import", json=document, headers=auth(bob))
    assert imported.status_code == 200, imported.json
    assert imported.json == {"object": "memory.import", "total": 2, "created": 2, "overwritten": 0, "skipped": 0}
    assert export_json(client, bob)["data"] == document["data"]  # ids, times, revisions, history
    found = client.get("/v1/memory/search?query=shellfish", headers=auth(bob)).json["data"]
    assert [m["id"] for m in found] == [a["id"]]
    again = client.post("/v1/memory/import", json=document, headers=auth(bob)).json
    assert again["skipped"] == 2 and again["created"] == 0

    only_data = client.post("/v1/memory/import", json={"data": document["data"]}, headers=auth(carol))
    assert only_data.status_code == 200 and only_data.json["created"] == 2
    empty = make_key("dana")
    assert export_json(client, empty)["data"] == []
    assert client.post("/v1/memory/import", json=export_json(client, empty), headers=auth(empty)).json["total"] == 0


def test_a_bad_json_import_names_the_item_and_writes_nothing(client, make_key):
    alice, bob = make_key("alice"), make_key("bob")
    for content in ("one", "two", "three"):
        create(client, alice, content)
    document = export_json(client, alice)
    bad = json.loads(json.dumps(document))
    bad["data"][2]["content"] = " "
    resp = client.post("/v1/memory/import", json=bad, headers=auth(bob))
    assert resp.status_code == 400, resp.json
    error = resp.json["error"]
    assert (error["code"], error["param"]) == ("invalid_import", "data[2].content")
    assert error["message"].startswith("data[2]: ")
    assert listed(client, bob) == []  # data[0] and data[1] were good, and were not written either

    # The same checks as a JSON Lines import: the same error for the same memory, named by its place.
    body = "\n".join(json.dumps(line) for line in [export(client, alice)[0], *bad["data"]])
    as_lines = client.post("/v1/memory/import", data=body, content_type="application/x-ndjson", headers=auth(bob))
    assert as_lines.json["error"]["param"] == "line 4.content"
    assert as_lines.json["error"]["message"].replace("Line 4", "data[2]").replace("line 4", "data[2]") == \
        error["message"] == "data[2]: 'data[2].content' must not be empty."

    history = json.loads(json.dumps(document))
    history["data"][0]["history"] = [{"content": "old", "updated_at": 1, "revision": 0}]
    for body, param in [
        (history, "data[0].history[0].revision"),
        ({"data": [document["data"][0], "a string"]}, "data[1]"),
        ({"data": {"id": "x"}}, "data"),
        ({}, "data"),
        ([], "data"),
        ({**document, "format": "other"}, "format"),
        ({**document, "version": True}, "version"),
        ({**document, "object": "list"}, "object"),
    ]:
        resp = client.post("/v1/memory/import", json=body, headers=auth(bob))
        assert resp.status_code == 400 and resp.json["error"]["param"] == param, (body, resp.json)
        assert resp.json["error"]["code"] == "invalid_import"
    assert listed(client, bob) == []


def test_a_json_import_is_one_json_value(client, make_key):
    key = make_key("alice")
    create(client, key, "one")
    lines = client.get("/v1/memory/export", headers=auth(key)).data
    # JSON Lines sent as application/json: not one JSON value (they go as application/x-ndjson).
    resp = client.post("/v1/memory/import", data=lines, content_type="application/json", headers=auth(key))
    assert resp.status_code == 400 and resp.json["error"]["code"] == "invalid_json"
    assert "application/x-ndjson" in resp.json["error"]["message"]
    # A JSON export sent as JSON Lines: refused, rather than read as a format line with no memories.
    document = json.dumps(export_json(client, key))
    resp = client.post("/v1/memory/import", data=document, content_type="application/x-ndjson", headers=auth(key))
    assert resp.status_code == 400 and resp.json["error"]["param"] == "line 1"
    assert "application/json" in resp.json["error"]["message"]



def test_a_json_import_has_a_limit_of_its_own(settings, services, make_key):
    """MEMORY_API_MAX_JSON_IMPORT_BYTES bounds a JSON import (parsed whole); JSON Lines keep theirs."""
    client = create_app(settings.replace(max_json_import_bytes=2000), services).test_client()
    key = make_key("alice")
    client.post("/v1/memory/batch", json={"memories": [{"content": f"memory number {i}"} for i in range(20)]},
                headers=auth(key))
    document = export_json(client, key)
    assert len(json.dumps(document)) > 2000
    resp = client.post("/v1/memory/import", json=document, headers=auth(key))
    assert resp.status_code == 413 and resp.json["error"]["code"] == "request_too_large", resp.json
    chunked = client.post("/v1/memory/import", input_stream=io.BytesIO(json.dumps(document).encode()),
                          content_type="application/json", headers=auth(key))  # no Content-Length
    assert chunked.status_code == 413, chunked.json
    lines = client.get("/v1/memory/export", headers=auth(key)).data
    resp = client.post("/v1/memory/import", data=lines, content_type="application/x-ndjson", headers=auth(key))
    assert resp.status_code == 200 and resp.json["skipped"] == 20
    small = client.post("/v1/memory/import", json={"data": document["data"][:2]}, headers=auth(key))
    assert small.status_code == 200 and small.json["skipped"] == 2


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
