"""Imports write all or nothing, keep what they store usable, and round-trip every stored value."""

from __future__ import annotations

import json

from helpers import auth
from memory_api.validation import MAX_REVISION, MAX_UNIX_TIME

NDJSON = "application/x-ndjson"


def create(client, key, content, **extra):
    resp = client.post("/v1/memory", json={"content": content, **extra}, headers=auth(key))
    assert resp.status_code == 200, resp.json
    return resp.json


def export_lines(client, key) -> list[dict]:
    resp = client.get("/v1/memory/export", headers=auth(key))
    assert resp.status_code == 200
    return [json.loads(line) for line in resp.data.decode().splitlines()]


def post_import(client, key, lines: list[str], on_conflict: str = "skip"):
    return client.post(f"/v1/memory/import?on_conflict={on_conflict}", data="\n".join(lines),
                       content_type=NDJSON, headers=auth(key))


def new_line(memory_id: str, content: str, **fields) -> dict:
    return {"id": memory_id, "content": content, "updated_at": 1_700_000_000, "revision": 1, **fields}


def test_an_out_of_range_number_is_a_400_before_anything_is_written(client, make_key, services):
    key = make_key("alice")
    kept = create(client, key, "the original content", tags=["keep"])
    header, stored = [json.dumps(line) for line in export_lines(client, key)]
    overwrite = json.dumps({**json.loads(stored), "content": "overwritten by the import"})
    fresh = json.dumps(new_line("mem_01JD0000000000000000000001", "a new memory"))
    # The report's line: a JSON integer of 401 digits, which Lua's cjson cannot hold.
    huge = '{"id": "mem_01JD0000000000000000000002", "content": "x", "updated_at": 1, "revision": 1' \
           + "0" * 400 + "}"
    for bad, param in (
        (huge, "line 4.revision"),
        (json.dumps(new_line("mem_01JD0000000000000000000002", "x", revision=10**19)), "line 4.revision"),
        (json.dumps(new_line("mem_01JD0000000000000000000002", "x", revision=MAX_REVISION + 1)),
         "line 4.revision"),
        (json.dumps(new_line("mem_01JD0000000000000000000002", "x", updated_at=MAX_UNIX_TIME + 1)),
         "line 4.updated_at"),
        (json.dumps(new_line("mem_01JD0000000000000000000002", "x", history=[
            {"content": "old", "updated_at": 1, "revision": 10**15}])), "line 4.history[0].revision"),
        (json.dumps(new_line("mem_01JD0000000000000000000002", "x", revision=1.5)), "line 4.revision"),
    ):
        resp = post_import(client, key, [header, overwrite, fresh, bad], on_conflict="overwrite")
        assert resp.status_code == 400, resp.json
        assert resp.json["error"]["code"] == "invalid_import" and resp.json["error"]["param"] == param
        listed = client.get("/v1/memory", headers=auth(key)).json["data"]
        assert [(m["id"], m["content"]) for m in listed] == [(kept["id"], "the original content")]
        assert services.check_consistency("alice").problems == []


def test_the_largest_revision_an_import_accepts_can_still_be_updated(client, make_key):
    key = make_key("alice")
    memory_id = "mem_01JD0000000000000000000003"
    header = json.dumps({"format": "memory-api.memories", "version": 1})
    line = json.dumps(new_line(memory_id, "at the top", revision=MAX_REVISION, updated_at=MAX_UNIX_TIME))
    assert post_import(client, key, [header, line]).json["created"] == 1
    got = client.get(f"/v1/memory/{memory_id}", headers=auth(key))
    assert got.json["updated_at"] == MAX_UNIX_TIME
    updated = client.patch(f"/v1/memory/{memory_id}", json={"content": "still writable"},
                           headers=auth(key, **{"If-Match": got.headers["ETag"]}))
    assert updated.status_code == 200, updated.json
    assert export_lines(client, key)[1]["revision"] == MAX_REVISION + 1
