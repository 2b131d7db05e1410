"""Conversations kept by the service: budget, rolling summary, locking, streaming, disconnects."""

from __future__ import annotations

import json
import socket
import threading
import time

import pytest

from helpers import auth, wait_until, with_provider
from memory_api.store import keys as redis_keys


@pytest.fixture
def settings(settings, fake_llm):
    return with_provider(settings, fake_llm, upstream_timeout=5,
                            conversation_max_tokens=300, keep_recent=2, conversation_lock_seconds=10)


def say(client, key, cid, text, **extra):
    resp = client.post("/v1/chat/completions", json={"conversation_id": cid, "messages": [
        {"role": "user", "content": text}], **extra}, headers=auth(key))
    assert resp.status_code == 200, resp.json
    return resp.json


def test_conversation_keeps_the_thread(client, make_key, fake_llm):
    key = make_key("alice")
    conv = client.post("/v1/conversations", json={"metadata": {"app": "test"}}, headers=auth(key)).json
    assert conv["object"] == "conversation" and conv["message_count"] == 0
    cid = conv["id"]
    client.post("/v1/chat/completions", json={"conversation_id": cid, "messages": [
        {"role": "system", "content": "You are a helpful assistant."},
        {"role": "user", "content": "My name is Ada."}]}, headers=auth(key))
    reply = say(client, key, cid, "What is my name?")
    assert reply["conversation_id"] == cid
    sent = fake_llm.last_chat()["messages"]
    assert sent[0] == {"role": "system", "content": "You are a helpful assistant."}  # kept from turn 1
    assert [m["role"] for m in sent[1:]] == ["user", "assistant", "user"]
    assert sent[1]["content"] == "My name is Ada." and sent[2]["content"] == "echo: My name is Ada."
    state = client.get(f"/v1/conversations/{cid}", headers=auth(key)).json
    assert state["message_count"] == 4 and state["summary"] is None
    assert [m["seq"] for m in state["messages"]] == [1, 2, 3, 4]
    assert state["messages"][3]["content"] == "echo: What is my name?"
    assert state["token_count"]["total"] == state["token_count"]["messages"] > 0
    assert state["system"] == "You are a helpful assistant."


def test_new_creates_a_conversation(client, make_key):
    key = make_key("alice")
    reply = say(client, key, "new", "hello")
    cid = reply["conversation_id"]
    assert cid.startswith("conv_")
    assert client.get(f"/v1/conversations/{cid}", headers=auth(key)).json["message_count"] == 2


def test_summary_folds_old_turns_and_reaches_the_next_prompt(client, make_key, fake_llm):
    key = make_key("alice")
    cid = client.post("/v1/conversations", json={}, headers=auth(key)).json["id"]
    facts = ["Ada Lovelace leads Project Falcon.", "The budget is 4200 euros.", "Deadline is March.",
             "Berlin office hosts the launch.", "Question: who signs the contract?"]
    for fact in facts:
        say(client, key, cid, fact + " " + "filler words to use tokens " * 8)
    assert fake_llm.summary_requests, "the thread went over 300 tokens: a summary was due"
    summary_prompt = fake_llm.summary_requests[0]["messages"][1]["content"]
    assert "Ada Lovelace leads Project Falcon." in summary_prompt
    state = client.get(f"/v1/conversations/{cid}", headers=auth(key)).json
    assert state["summary"].startswith("SUMMARY[")
    assert state["summarized_through"] > 0
    assert state["message_count"] == 2 * len(facts)
    assert state["messages"][0]["seq"] == state["summarized_through"] + 1
    assert state["token_count"]["total"] <= 300 + 100  # summary + recent turns, near the budget
    say(client, key, cid, "Who leads the project?")
    system = fake_llm.last_chat()["messages"][0]["content"]
    latest = client.get(f"/v1/conversations/{cid}", headers=auth(key)).json
    assert latest["summary"] in system
    assert f"its first {latest['summarized_through']} messages" in system


def test_failed_summary_keeps_every_turn_and_retries(client, make_key, fake_llm):
    key = make_key("alice")
    cid = client.post("/v1/conversations", json={}, headers=auth(key)).json["id"]
    fake_llm.failing_summaries = 100
    for i in range(5):
        say(client, key, cid, f"turn {i} " + "padding " * 40)
    state = client.get(f"/v1/conversations/{cid}", headers=auth(key)).json
    assert len(fake_llm.summary_requests) >= 1
    assert state["summary"] is None and state["summarized_through"] == 0
    assert state["message_count"] == 10 and len(state["messages"]) == 10  # nothing lost
    prompt = fake_llm.last_chat()["messages"]
    assert prompt[-1]["content"].startswith("turn 4")  # the prompt itself still fits the budget
    fake_llm.failing_summaries = 0
    say(client, key, cid, "turn 5")
    state = client.get(f"/v1/conversations/{cid}", headers=auth(key)).json
    assert state["summary"] and state["summarized_through"] > 0
    assert state["message_count"] == 12


def test_concurrent_requests_never_interleave(app, make_key, fake_llm):
    key = make_key("alice")
    client = app.test_client()
    cid = client.post("/v1/conversations", json={}, headers=auth(key)).json["id"]
    fake_llm.response_delay = 0.15
    errors = []

    def talk(n):
        try:
            c = app.test_client()
            resp = c.post("/v1/chat/completions", json={"conversation_id": cid, "messages": [
                {"role": "user", "content": f"message {n}"}]}, headers=auth(key))
            assert resp.status_code == 200, resp.json
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=talk, args=(n,)) for n in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    msgs = client.get(f"/v1/conversations/{cid}", headers=auth(key)).json
    contents = [m["content"] for m in msgs["messages"]]
    # summaries may have folded early turns: pair up what is left, user then its own echo
    start = msgs["summarized_through"] % 2
    pairs = list(zip(contents[start::2], contents[start + 1::2]))
    assert msgs["message_count"] == 10
    for user, assistant in pairs:
        assert assistant == f"echo: {user}"


def test_streamed_turn_is_saved_when_the_stream_completes(sdk, make_key, fake_llm, client):
    key = make_key("alice")
    cid = client.post("/v1/conversations", json={}, headers=auth(key)).json["id"]
    stream = sdk(key).chat.completions.create(model="gpt-4o-mini", stream=True,
                                               messages=[{"role": "user", "content": "tell me"}],
                                               extra_body={"conversation_id": cid})
    assert stream.response.headers["x-conversation-id"] == cid
    text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert text == "echo: tell me"
    state = client.get(f"/v1/conversations/{cid}", headers=auth(key)).json
    assert [m["content"] for m in state["messages"]] == ["tell me", "echo: tell me"]


def test_client_disconnect_mid_stream_leaves_the_conversation_unchanged(live_server, make_key, fake_llm, client,
                                                                       redis_client):
    key = make_key("alice")
    cid = client.post("/v1/conversations", json={}, headers=auth(key)).json["id"]
    say(client, key, cid, "first")
    fake_llm.chunk_delay = 0.05
    body = json.dumps({"conversation_id": cid, "stream": True,
                       "messages": [{"role": "user", "content": " ".join(["word"] * 60)}]}).encode()
    host, port = live_server.url.replace("http://", "").split(":")
    with socket.create_connection((host, int(port))) as sock:
        sock.sendall(
            b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            + f"Authorization: Bearer {key}\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body
        )
        received = b""
        while received.count(b"data:") < 3:
            received += sock.recv(4096)
    # The client is gone: the service must hang up on the provider and release the thread.
    assert fake_llm.stream_ended.wait(10), "the provider's stream was never closed"
    fake_llm.chunk_delay = 0
    lock = redis_keys.conversation_lock("alice", cid)
    wait_until(lambda: not redis_client.exists(lock), what="the conversation lock to be released")
    state = client.get(f"/v1/conversations/{cid}", headers=auth(key)).json
    assert [m["content"] for m in state["messages"]] == ["first", "echo: first"]
    say(client, key, cid, "after")
    assert client.get(f"/v1/conversations/{cid}", headers=auth(key)).json["message_count"] == 4


def test_failed_provider_call_leaves_the_conversation_unchanged(client, make_key, fake_llm):
    key = make_key("alice")
    cid = client.post("/v1/conversations", json={}, headers=auth(key)).json["id"]
    say(client, key, cid, "one")
    fake_llm.errors.append((500, {"error": {"message": "boom", "type": "server_error"}}, {}))
    resp = client.post("/v1/chat/completions", json={"conversation_id": cid, "messages": [
        {"role": "user", "content": "two"}]}, headers=auth(key))
    assert resp.status_code == 502
    assert client.get(f"/v1/conversations/{cid}", headers=auth(key)).json["message_count"] == 2


def test_conversations_list_get_delete_and_isolation(client, make_key):
    alice, bob = make_key("alice"), make_key("bob")
    ids = [client.post("/v1/conversations", json={}, headers=auth(alice)).json["id"] for _ in range(5)]
    page = client.get("/v1/conversations?limit=2", headers=auth(alice)).json
    assert [c["id"] for c in page["data"]] == ids[::-1][:2] and page["has_more"]
    assert "messages" not in page["data"][0]
    nxt = client.get(f"/v1/conversations?limit=10&after={page['last_id']}", headers=auth(alice)).json
    assert [c["id"] for c in nxt["data"]] == ids[::-1][2:] and not nxt["has_more"]
    assert client.get(f"/v1/conversations/{ids[0]}", headers=auth(bob)).status_code == 404
    assert client.get("/v1/conversations", headers=auth(bob)).json["data"] == []
    resp = client.post("/v1/chat/completions", json={"conversation_id": ids[0], "messages": [
        {"role": "user", "content": "x"}]}, headers=auth(bob))
    assert resp.status_code == 404
    deleted = client.delete(f"/v1/conversations/{ids[0]}", headers=auth(alice)).json
    assert deleted == {"id": ids[0], "object": "conversation.deleted", "deleted": True}
    assert client.get(f"/v1/conversations/{ids[0]}", headers=auth(alice)).status_code == 404
    assert client.delete(f"/v1/conversations/{ids[0]}", headers=auth(alice)).status_code == 404
    assert client.get("/v1/conversations/conv_nope", headers=auth(alice)).status_code == 400


def test_a_stream_closed_before_it_is_read_releases_the_conversation(app, make_key, fake_llm):
    key = make_key("alice")
    client = app.test_client()
    cid = client.post("/v1/conversations", json={}, headers=auth(key)).json["id"]
    resp = client.post("/v1/chat/completions", json={"conversation_id": cid, "stream": True, "messages": [
        {"role": "user", "content": "never read"}]}, headers=auth(key), buffered=False)
    assert resp.status_code == 200
    resp.close()  # what a WSGI server does when the client leaves before the first byte
    started = time.monotonic()
    say(client, key, cid, "next")
    assert time.monotonic() - started < 3, "the lock must have been released"
    assert [m["content"] for m in client.get(f"/v1/conversations/{cid}", headers=auth(key)).json["messages"]] == [
        "next", "echo: next"]


def test_a_retried_stream_is_replayed_not_run_twice(client, make_key, fake_llm):
    key = make_key("alice")
    cid = client.post("/v1/conversations", json={}, headers=auth(key)).json["id"]
    body = {"conversation_id": cid, "stream": True, "messages": [{"role": "user", "content": "once please"}]}
    headers = {**auth(key), "Idempotency-Key": "stream-1"}
    first = client.post("/v1/chat/completions", json=body, headers=headers).data  # read to its end
    again = client.post("/v1/chat/completions", json=body, headers=headers)
    assert again.data == first and b"data: [DONE]" in first
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.headers["x-conversation-id"] == cid
    assert len(fake_llm.chat_requests) == 1
    assert client.get(f"/v1/conversations/{cid}", headers=auth(key)).json["message_count"] == 2
