"""One user cannot exhaust the machine: bounded chat requests, searches and imports."""

from __future__ import annotations

import contextlib
import io
import json
import tracemalloc

import httpx
import pytest

from helpers import LiveServer, auth, with_provider
from memory_api import create_app
from memory_api.ids import new_memory_id
from memory_api.services import Services
from memory_api.index.analyzer import analyze
from memory_api.tokens import count_tokens

MANY = 9000  # the report's chat: more messages than one Lua unpack() takes


@pytest.fixture
def settings(settings, fake_llm):
    return with_provider(settings, fake_llm, upstream_timeout=5, max_chat_messages=MANY)


def chat(client, key, messages, **extra):
    return client.post("/v1/chat/completions", json={"messages": messages, **extra}, headers=auth(key))


def turns(n: int) -> list[dict]:
    return [{"role": "user" if i % 2 == 0 else "assistant", "content": f"m{i}"} for i in range(n - 1)] + [
        {"role": "user", "content": "last"}]


def test_too_many_chat_messages_is_a_400_before_the_provider_is_called(client, make_key, fake_llm):
    key = make_key("alice")
    for extra in ({}, {"conversation_id": "new"}):
        resp = chat(client, key, turns(MANY + 1), **extra)
        assert resp.status_code == 400, resp.json
        error = resp.json["error"]
        assert (error["type"], error["param"], error["code"]) == ("invalid_request_error", "messages",
                                                                   "too_many_messages")
    assert fake_llm.requests == []
    assert client.get("/v1/conversations", headers=auth(key)).json["data"] == []


def test_a_conversation_takes_as_many_messages_as_a_request_may_carry(client, make_key, fake_llm):
    key = make_key("alice")
    resp = chat(client, key, turns(MANY), conversation_id="new")
    assert resp.status_code == 200, resp.json
    state = client.get(f"/v1/conversations/{resp.json['conversation_id']}", headers=auth(key)).json
    assert state["message_count"] == MANY + 1  # and the reply


@contextlib.contextmanager
def client_with(settings, **changes):
    """A test client of an app with some settings changed."""
    services = Services.build(settings.replace(**changes))
    try:
        yield create_app(services.settings, services).test_client()
    finally:
        services.close()


def test_a_keyword_search_reads_its_rarest_terms_within_its_bounds(settings, make_key):
    key = make_key("alice")
    ids = {}
    with client_with(settings) as client:
        for content in ("apple", "apple banana", "apple banana cherry"):
            ids[content] = client.post("/v1/memory", json={"content": content}, headers=auth(key)).json["id"]

    def found(client, query):
        resp = client.get("/v1/memory/search", query_string={"query": query}, headers=auth(key))
        assert resp.status_code == 200, resp.json
        return {next(c for c, i in ids.items() if i == m["id"]) for m in resp.json["data"]}

    everything = set(ids)
    with client_with(settings) as client:
        assert found(client, "apple banana cherry") == everything
        # A query of 200 distinct terms is served (the terms beyond the bound are ignored, not refused).
        assert found(client, " ".join(f"q{i}" for i in range(199)) + " cherry") == {"apple banana cherry"}
    with client_with(settings, max_query_terms=2) as client:  # cherry and banana, the rarest two
        assert found(client, "apple banana cherry") == {"apple banana", "apple banana cherry"}
    with client_with(settings, max_search_postings=3) as client:  # cherry (1) and banana (2) fit in 3
        assert found(client, "apple banana cherry") == {"apple banana", "apple banana cherry"}
    with client_with(settings, max_search_postings=2) as client:
        assert found(client, "apple banana cherry") == {"apple banana cherry"}
        assert found(client, "apple") == everything  # the rarest term is read, however long


class _Pipe(io.RawIOBase):
    """A stream that cannot seek, as a request body or stdin."""

    def __init__(self, file) -> None:
        self._file = file

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self._file.read(len(buffer))
        buffer[:len(data)] = data
        return len(data)


def test_an_import_holds_a_bounded_amount_of_memory_whatever_its_size(settings, tmp_path):
    lines = 2500  # about 10 MB
    export = tmp_path / "export.jsonl"
    with open(export, "w") as out:
        out.write(json.dumps({"format": "memory-api.memories", "version": 1}) + "\n")
        for i in range(lines):
            out.write(json.dumps({"id": new_memory_id(), "content": "x" * 3990 + f" {i}", "updated_at": 1}) + "\n")
    services = Services.build(settings.replace(embeddings="off"))
    try:
        # The tokenizer's tables and the stemmer load once per process: not the import's memory.
        count_tokens("warm up") and analyze("warm up")
        tracemalloc.start()
        try:
            with open(export, "rb") as source:
                result = services.portability.import_file("alice", io.BufferedReader(_Pipe(source)))
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert result["created"] == lines and services.memories.store.count("alice") == lines
        # Held whole, the export alone would be its 10 MB (and its parsed memories as much again).
        assert peak < 6_000_000, f"{export.stat().st_size} bytes imported with a peak of {peak} bytes"
    finally:
        services.close()


def test_an_import_above_max_import_bytes_is_a_413_and_writes_nothing(settings, make_key):
    key = make_key("alice")
    header = json.dumps({"format": "memory-api.memories", "version": 1})
    body = "\n".join([header, *(json.dumps({"id": new_memory_id(), "content": f"memory {i}", "updated_at": 1})
                                for i in range(100))]).encode()
    with client_with(settings, max_import_bytes=len(body) - 1) as client:
        resp = client.post("/v1/memory/import", data=body, content_type="application/x-ndjson", headers=auth(key))
        assert resp.status_code == 413 and resp.json["error"]["type"] == "invalid_request_error"
        # Without a Content-Length (chunked): refused once the limit is read past, before any write.
        with LiveServer(client.application) as server:
            chunked = httpx.post(f"{server.url}/v1/memory/import", content=iter([body[:500], body[500:]]),
                                 headers={**auth(key), "Content-Type": "application/x-ndjson"})
        assert chunked.status_code == 413 and chunked.json()["error"]["type"] == "invalid_request_error"
        assert client.get("/v1/memory/stats", headers=auth(key)).json["count"] == 0
    with client_with(settings, max_import_bytes=len(body)) as client:
        resp = client.post("/v1/memory/import", data=body, content_type="application/x-ndjson", headers=auth(key))
        assert resp.status_code == 200 and resp.json["created"] == 100


def test_an_import_with_an_idempotency_key_reads_the_body_its_fingerprint_read(client, make_key):
    key = make_key("alice")
    body = "\n".join([json.dumps({"format": "memory-api.memories", "version": 1}),
                      json.dumps({"id": new_memory_id(), "content": "once", "updated_at": 1})])
    headers = auth(key, **{"Idempotency-Key": "import-1"})
    first = client.post("/v1/memory/import", data=body, content_type="application/x-ndjson", headers=headers)
    again = client.post("/v1/memory/import", data=body, content_type="application/x-ndjson", headers=headers)
    assert first.status_code == again.status_code == 200 and first.json["created"] == 1
    assert again.json == first.json
