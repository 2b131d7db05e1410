"""Chat with memory: injection under caps, measured on what the provider actually received."""

from __future__ import annotations

import openai
import pytest
import tiktoken

from helpers import auth, with_provider
from memory_api.services.context_block import BLOCK_END, BLOCK_START, memory_lines


@pytest.fixture
def settings(settings, fake_llm):
    return with_provider(settings, fake_llm, upstream_timeout=5)


def injected_block(body: dict) -> str | None:
    """The memory block inside the system message the provider received."""
    system = next((m for m in body["messages"] if m["role"] == "system"), None)
    if system is None or BLOCK_START not in system["content"]:
        return None
    content = system["content"]
    return content[content.index(BLOCK_START): content.index(BLOCK_END) + len(BLOCK_END)]


def injected_lines(body: dict) -> list[str]:
    block = injected_block(body)
    if block is None:
        return []
    return memory_lines(block)


def test_sdk_chat_injects_memories_into_a_new_system_message(sdk, make_key, services, fake_llm):
    key = make_key("alice")
    services.memories.create("alice", "My name is Alice.")
    services.memories.create("alice", "I live in Lyon.")
    client = sdk(key)
    completion = client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "Where do I live?"}], temperature=0.2
    )
    assert completion.choices[0].message.content == "echo: Where do I live?"
    sent = fake_llm.last_chat()
    assert sent["model"] == "gpt-4o-mini" and sent["temperature"] == 0.2
    assert sent["messages"][0]["role"] == "system"
    assert injected_lines(sent) == ["I live in Lyon."]  # only what the question is about
    assert sent["messages"][1] == {"role": "user", "content": "Where do I live?"}
    memory = completion.memory  # our extra field, kept by the SDK
    assert memory["word_count"] == 4 and memory["omitted_count"] == 1
    assert len(memory["injected_ids"]) == 1
    block = injected_block(sent)
    assert memory["token_count"] == len(tiktoken.get_encoding("o200k_base").encode(block))
    assert fake_llm.requests[-1]["headers"]["authorization"] == "Bearer sk-upstream"


def test_block_is_merged_into_the_first_system_message(client, make_key, services, fake_llm):
    key = make_key("alice")
    services.memories.create("alice", "Prefers metric units.")
    body = {"messages": [{"role": "system", "content": "You are terse."},
                         {"role": "user", "content": "which units?"},
                         {"role": "system", "content": "second system"}]}
    resp = client.post("/v1/chat/completions", json=body, headers=auth(key))
    assert resp.status_code == 200, resp.json
    sent = fake_llm.last_chat()["messages"]
    assert len(sent) == 3
    assert sent[0]["content"].startswith("You are terse.\n\n" + BLOCK_START)
    assert '"Prefers metric units."' in sent[0]["content"]
    assert sent[2] == {"role": "system", "content": "second system"}
    assert resp.json["model"] == "gpt-4o-mini"  # MEMORY_API_CHAT_MODEL when the request names none


def test_no_memories_and_inject_false_send_messages_untouched(client, make_key, services, fake_llm):
    key = make_key("alice")
    messages = [{"role": "system", "content": "Be nice."}, {"role": "user", "content": "hello"}]
    resp = client.post("/v1/chat/completions", json={"messages": messages}, headers=auth(key))
    assert fake_llm.last_chat()["messages"] == messages
    assert resp.json["memory"] == {"injected_ids": [], "word_count": 0, "token_count": 0, "omitted_count": 0,
                                   "mode": "keyword"}
    services.memories.create("alice", "A secret fact.")
    resp = client.post("/v1/chat/completions", json={"messages": messages, "memory": {"inject": False}},
                       headers=auth(key))
    assert fake_llm.last_chat()["messages"] == messages
    assert resp.json["memory"]["omitted_count"] == 1


def test_users_never_see_each_others_memories(client, make_key, services, fake_llm):
    services.memories.create("alice", "Alice's bank PIN is 1234.")
    bob = make_key("bob")
    services.memories.create("bob", "Bob likes jazz.")
    asked = {"messages": [{"role": "user", "content": "what do I like, and what is my PIN?"}]}
    client.post("/v1/chat/completions", json=asked, headers=auth(bob))
    assert injected_lines(fake_llm.last_chat()) == ["Bob likes jazz."]
    service = make_key(service="backend")
    client.post("/v1/chat/completions", json=asked, headers=auth(service, **{"X-Memory-User": "carol"}))
    assert injected_block(fake_llm.last_chat()) is None


def words(n: int, tag: str) -> str:
    return " ".join(f"{tag}{i}" for i in range(n))


@pytest.mark.parametrize("model, encoding", [("gpt-4o-mini", "o200k_base"), ("gpt-4", "cl100k_base")])
def test_caps_hold_on_what_the_provider_received(client, make_key, services, fake_llm, model, encoding):
    key = make_key("alice")
    # Every memory holds the question's one word, so the shortest rank first (BM25): 4 words (m3), 6 (m0),
    # 9 (m5), 13 (m2), 41 (m1), 201 (m4).
    sizes = [5, 40, 12, 3, 200, 8]
    for n, size in enumerate(sizes):
        services.memories.create("alice", "note " + words(size, f"m{n}w"))
    resp = client.post(
        "/v1/chat/completions",
        json={"model": model, "messages": [{"role": "user", "content": "note?"}], "memory": {"max_words": 33}},
        headers=auth(key),
    )
    assert resp.status_code == 200, resp.json
    lines = injected_lines(fake_llm.last_chat())
    injected_words = sum(len(line.split()) for line in lines)
    assert injected_words <= 33
    # Greedy fill: 4, 6, 9 and 13 fit (32 words), 41 and 201 do not.
    assert [line.split()[1][:2] for line in lines] == ["m3", "m0", "m5", "m2"]
    assert injected_words == 4 + 6 + 9 + 13
    assert resp.json["memory"]["word_count"] == injected_words
    assert resp.json["memory"]["omitted_count"] == 2
    block = injected_block(fake_llm.last_chat())
    assert resp.json["memory"]["token_count"] == len(tiktoken.get_encoding(encoding).encode(block))

    resp = client.post(
        "/v1/chat/completions",
        json={"model": model, "messages": [{"role": "user", "content": "note?"}], "memory": {"max_tokens": 60}},
        headers=auth(key),
    )
    block = injected_block(fake_llm.last_chat())
    exact = len(tiktoken.get_encoding(encoding).encode(block))
    assert exact <= 60 and resp.json["memory"]["token_count"] == exact
    assert 0 < len(injected_lines(fake_llm.last_chat())) < len(sizes)


def test_default_caps_are_the_server_settings(client, make_key, services, fake_llm, settings):
    key = make_key("alice")
    for n in range(40):
        services.memories.create("alice", "note " + words(60, f"x{n}_"))  # 2440 words in all
    resp = client.post("/v1/chat/completions", json={"messages": [{"role": "user", "content": "a note?"}]},
                       headers=auth(key))
    lines = injected_lines(fake_llm.last_chat())
    assert sum(len(line.split()) for line in lines) <= settings.max_words
    block = injected_block(fake_llm.last_chat())
    assert len(tiktoken.get_encoding("o200k_base").encode(block)) <= settings.max_tokens
    assert resp.json["memory"]["omitted_count"] == 40 - len(lines)


@pytest.mark.parametrize("memory, param", [
    ({"max_words": 1501}, "memory.max_words"),
    ({"max_tokens": -1}, "memory.max_tokens"),
    ({"max_words": "ten"}, "memory.max_words"),
    ({"inject": "yes"}, "memory.inject"),
    ({"colour": 1}, "memory.colour"),
])
def test_bad_memory_options(client, make_key, memory, param):
    resp = client.post("/v1/chat/completions", json={"messages": [{"role": "user", "content": "q"}],
                                                      "memory": memory}, headers=auth(make_key("alice")))
    assert resp.status_code == 400
    assert resp.json["error"]["param"] == param


@pytest.mark.parametrize("body, param", [
    ({}, "messages"),
    ({"messages": []}, "messages"),
    ({"messages": [{"role": "wizard", "content": "x"}]}, "messages[0].role"),
    ({"messages": [{"role": "user", "content": 5}]}, "messages[0].content"),
    ({"messages": [{"role": "user", "content": "x"}], "conversation_id": "conv_bad"}, "conversation_id"),
])
def test_bad_chat_bodies(client, make_key, body, param):
    resp = client.post("/v1/chat/completions", json=body, headers=auth(make_key("alice")))
    assert resp.status_code == 400, resp.json
    assert resp.json["error"]["param"] == param


def test_context_endpoint_returns_what_chat_injects(client, make_key, services, fake_llm):
    key = make_key("alice")
    for text in ("Allergic to peanuts.", "Has two cats, Miso and Tofu.", "Works night shifts."):
        services.memories.create("alice", text)
    ctx = client.post("/v1/memory/context", json={"max_words": 9}, headers=auth(key))
    assert ctx.status_code == 200, ctx.json
    body = ctx.json
    assert body["object"] == "memory.context"
    assert body["word_count"] <= 9 and body["omitted_count"] == 3 - len(body["memory_ids"])
    ctx = client.post("/v1/memory/context", json={"max_words": 9, "query": "cats or shifts?"}, headers=auth(key))
    assert len(ctx.json["memory_ids"]) == 2  # the two the question is about (with a query: only those)
    client.post("/v1/chat/completions", json={"messages": [{"role": "user", "content": "cats or shifts?"}],
                                              "memory": {"max_words": 9}}, headers=auth(key))
    assert injected_block(fake_llm.last_chat()) == ctx.json["text"]
    empty = client.post("/v1/memory/context", json={"max_tokens": 0}, headers=auth(key)).json
    assert empty["text"] == "" and empty["memory_ids"] == [] and empty["token_count"] == 0
    bad = client.post("/v1/memory/context", json={"max_words": 999999}, headers=auth(key))
    assert bad.status_code == 400 and bad.json["error"]["param"] == "memory.max_words"


def test_streaming_through_sdk_with_and_without_usage(sdk, make_key, services, fake_llm):
    key = make_key("alice")
    services.memories.create("alice", "Likes short answers.")
    client = sdk(key)
    stream = client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "stream a short answer please"}], stream=True
    )
    assert stream.response.headers["x-memory-injected-count"] == "1"
    assert stream.response.headers["x-memory-word-count"] == "3"
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "echo: stream a short answer please"
    assert all(c.usage is None for c in chunks)
    assert injected_lines(fake_llm.last_chat()) == ["Likes short answers."]

    stream = client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "count me"}], stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == 3
    assert fake_llm.last_chat()["stream_options"] == {"include_usage": True}


def test_chat_without_a_provider_is_503_naming_the_setting(redis_server, redis_client):
    from memory_api import create_app
    from memory_api.config import Settings

    app = create_app(Settings(redis_url=redis_server.url, log_level="WARNING"))
    key, _ = app.extensions["memory_api"].keys.create(user="alice")
    resp = app.test_client().post("/v1/chat/completions", json={"messages": [{"role": "user", "content": "hi"}]},
                                  headers=auth(key))
    assert resp.status_code == 503
    assert "OPENAI_API_KEY" in resp.json["error"]["message"]
    assert resp.json["error"]["type"] == "service_unavailable_error"
    # memories still work without a provider
    ok = app.test_client().post("/v1/memory/context", json={}, headers=auth(key))
    assert ok.status_code == 200


def test_sdk_raises_on_mid_stream_error(sdk, make_key, fake_llm):
    fake_llm.break_after_chunks = 3
    client = sdk(make_key("alice"))
    stream = client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "one two three four five"}], stream=True
    )
    with pytest.raises(openai.APIError) as info:
        for _ in stream:
            pass
    assert "model provider" in str(info.value)


def test_the_ids_header_lists_at_most_50_and_the_body_all(client, make_key, services, fake_llm):
    """196 ids made one 6.1 KB header line, past common proxies' buffers (issue 26): the header lists the first
    50, the count header and the JSON body say all."""
    key = make_key("alice")
    services.memories.create_batch("alice", [{"content": f"tea fact {i}"} for i in range(60)])
    resp = client.post("/v1/chat/completions", headers=auth(key), json={
        "messages": [{"role": "user", "content": "tea fact"}], "memory": {"mode": "keyword"}})
    assert resp.status_code == 200, resp.json
    injected = resp.json["memory"]["injected_ids"]
    assert len(injected) == 60 == int(resp.headers["x-memory-injected-count"])
    assert resp.headers["x-memory-injected-ids"].split(",") == injected[:50]
    assert len(resp.headers["x-memory-injected-ids"]) < 1600
