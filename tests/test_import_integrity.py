"""Imports write all or nothing, keep what they store usable, and round-trip every stored value."""

from __future__ import annotations

import itertools
import json

from hypothesis import HealthCheck, example, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from helpers import auth
from memory_api.validation import GLOBAL_SCOPE, MAX_REVISION, MAX_UNIX_TIME, SCOPE_PATTERN

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


def test_every_write_gives_a_new_etag_an_import_overwrite_too(client, make_key):
    key = make_key("alice")
    memory = create(client, key, "the first content")
    url = f"/v1/memory/{memory['id']}"
    seen = client.get(url, headers=auth(key)).headers["ETag"]
    header, line = [json.dumps(item) for item in export_lines(client, key)]
    # The same revision as the stored memory (the export's own), other content.
    changed = json.dumps({**json.loads(line), "content": "changed by an import"})
    assert post_import(client, key, [header, changed], on_conflict="overwrite").json["overwritten"] == 1
    got = client.get(url, headers=auth(key, **{"If-None-Match": seen}))
    assert got.status_code == 200 and got.json["content"] == "changed by an import"
    assert got.headers["ETag"] != seen
    stale = client.patch(url, json={"content": "written over content never seen"},
                         headers=auth(key, **{"If-Match": seen}))
    assert stale.status_code == 412 and stale.json["error"]["param"] == "If-Match"
    assert client.delete(url, headers=auth(key, **{"If-Match": seen})).status_code == 412

    # Deleted, then brought back by an import with the very revision it had: a new ETag still.
    current = got.headers["ETag"]
    assert client.delete(url, headers=auth(key, **{"If-Match": current})).status_code == 200
    assert post_import(client, key, [header, changed]).json["created"] == 1
    back = client.get(url, headers=auth(key, **{"If-None-Match": current}))
    assert back.status_code == 200 and back.headers["ETag"] not in (seen, current)
    assert client.patch(url, json={"content": "x"}, headers=auth(key, **{"If-Match": current})).status_code == 412
    ok = client.patch(url, json={"content": "y"}, headers=auth(key, **{"If-Match": back.headers["ETag"]}))
    assert ok.status_code == 200 and ok.headers["ETag"] != back.headers["ETag"]


def test_a_tag_whose_folded_form_is_invalid_is_refused(client, make_key):
    key = make_key("alice")
    for tags in (["ß" * 64, "İstanbul"], ["ß" * 33], ["İstanbul"]):
        resp = client.post("/v1/memory", json={"content": "tagged", "tags": tags}, headers=auth(key))
        assert resp.status_code == 400 and resp.json["error"]["code"] == "invalid_tag", tags
        listing = client.get("/v1/memory", query_string={"tag": tags[-1]}, headers=auth(key))
        assert listing.status_code == 400 and listing.json["error"]["code"] == "invalid_tag"
    stored = create(client, key, "tagged", tags=["ß" * 32, "Straße"])
    assert stored["tags"] == ["s" * 64, "strasse"]


# Text from all of Unicode but surrogates and control characters (which every field refuses).
_text = st.characters(exclude_categories=("Cs", "Cc"))
_tag = st.one_of(
    st.sampled_from(["ß" * 32, "ß" * 33, "ß" * 64, "İstanbul", "ﬁ", "ΣΑΣ", "ǅ", "ŉ", "K", "x" * 64]),
    st.text(st.one_of(_text, st.sampled_from("_.:/+-")), min_size=1, max_size=66),
)
_metadata = st.dictionaries(st.text(_text, min_size=1, max_size=64), st.text(_text, max_size=80), max_size=4)
_scope = st.one_of(st.none(), st.from_regex(SCOPE_PATTERN, fullmatch=True).filter(lambda s: s != GLOBAL_SCOPE))
_version = st.fixed_dictionaries({
    "content": st.text(_text, min_size=1, max_size=80).filter(str.strip),
    "tags": st.lists(_tag, max_size=4), "metadata": _metadata, "scope": _scope})
_users = itertools.count()


@hypothesis_settings(max_examples=80, deadline=None, derandomize=True,
                     suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(first=_version, second=_version)
@example(first={"content": "x", "tags": ["ß" * 64, "İstanbul"], "metadata": {}, "scope": None},
         second={"content": "y", "tags": [], "metadata": {}, "scope": None})
def test_whatever_is_stored_survives_export_and_import(client, make_key, first, second):
    n = next(_users)
    owner, other = make_key(f"owner{n}"), make_key(f"other{n}")
    created = client.post("/v1/memory", json=first, headers=auth(owner))
    if created.status_code != 200:  # refusing input is fine; storing what cannot come back is not
        assert created.status_code == 400, created.json
        return
    memory_id = created.json["id"]
    updated = client.patch(f"/v1/memory/{memory_id}", json=second, headers=auth(owner))
    assert updated.status_code in (200, 400), updated.json
    stored = client.get(f"/v1/memory/{memory_id}", headers=auth(owner)).json

    # What the API handed back, it takes back: as tags to write and to filter by.
    resend = client.patch(f"/v1/memory/{memory_id}", json={"tags": stored["tags"]}, headers=auth(owner))
    assert resend.status_code == 200, resend.json
    if stored["tags"]:
        found = client.get("/v1/memory", query_string={"tag": stored["tags"]}, headers=auth(owner))
        assert [m["id"] for m in found.json["data"]] == [memory_id]

    exported = export_lines(client, owner)
    body = [json.dumps(line, ensure_ascii=False) for line in exported]
    into_other = post_import(client, other, body)
    assert into_other.status_code == 200 and into_other.json["created"] == 1, into_other.json
    assert export_lines(client, other)[1:] == exported[1:]
    onto_itself = post_import(client, owner, body, on_conflict="overwrite")
    assert onto_itself.status_code == 200 and onto_itself.json["overwritten"] == 1, onto_itself.json
    assert export_lines(client, owner)[1:] == exported[1:]


def test_a_line_that_is_not_utf8_or_too_long_is_a_400(client, make_key):
    from memory_api.services.portability import MAX_IMPORT_LINE_BYTES

    key = make_key("alice")
    header = json.dumps({"format": "memory-api.memories", "version": 1}).encode()
    for bad in (b'{"id": "\xff\xfe"}', b" " * (MAX_IMPORT_LINE_BYTES + 1)):
        resp = client.post("/v1/memory/import", data=header + b"\n" + bad, content_type=NDJSON, headers=auth(key))
        assert resp.status_code == 400, resp.json
        assert resp.json["error"]["code"] == "invalid_import" and resp.json["error"]["param"] == "line 2"
