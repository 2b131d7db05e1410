"""One user cannot exhaust the machine: bounded chat requests, searches and imports."""

from __future__ import annotations

import contextlib

import pytest

from helpers import auth, with_provider
from memory_api import create_app
from memory_api.services import Services

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
