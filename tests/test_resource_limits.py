"""One user cannot exhaust the machine: bounded chat requests, searches and imports."""

from __future__ import annotations

import pytest

from helpers import auth, with_provider

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
