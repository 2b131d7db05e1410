"""`memory-api chat`, driven through a pseudo-terminal as a person would use it."""

from __future__ import annotations

import sys

import pexpect
import pytest

from helpers import REPO, auth, subprocess_env, with_provider


@pytest.fixture
def settings(settings, fake_llm):
    return with_provider(settings, fake_llm, upstream_timeout=5)


def spawn_chat(live_server, key, *args):
    return pexpect.spawn(
        sys.executable, ["-m", "memory_api.cli", "chat", "--url", live_server.url, *args],
        cwd=str(REPO), env=subprocess_env(MEMORY_API_KEY=key), encoding="utf-8", timeout=20,
    )


def test_terminal_chat_streams_replies_and_keeps_the_conversation(live_server, make_key, services, client,
                                                                   fake_llm):
    key = make_key("alice")
    services.memories.create("alice", "Alice's cat is called Pixel.")
    fake_llm.chunk_delay = 0.01
    child = spawn_chat(live_server, key)
    child.expect(r"conversation (conv_\w+)")
    cid = child.match.group(1)
    child.expect("you> ")
    child.sendline("What is my cat called?")
    child.expect(r"\[1 memory injected\]")
    child.expect("assistant> echo: What is my cat called\\?")
    child.expect("you> ")
    child.sendline("")  # an empty line is ignored
    child.expect("you> ")
    child.sendline("And my name?")
    child.expect("echo: And my name\\?")
    child.expect("you> ")
    child.sendline("quit")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    state = client.get(f"/v1/conversations/{cid}", headers=auth(key)).json
    assert [m["content"] for m in state["messages"]] == [
        "What is my cat called?", "echo: What is my cat called?", "And my name?", "echo: And my name?"]
    assert "Pixel" in fake_llm.chat_requests[0]["messages"][0]["content"]


def test_terminal_chat_exits_on_eof_and_reports_errors(live_server, make_key, fake_llm):
    key = make_key("alice")
    for _ in range(2):  # the CLI's SDK retries a 502 once
        fake_llm.errors.append((500, {"error": {"message": "down", "type": "server_error"}}, {}))
    child = spawn_chat(live_server, key, "--no-memory")
    child.expect("you> ")
    child.sendline("hello")
    child.expect("error: The model provider failed")
    child.expect("you> ")
    child.sendeof()
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0


def test_terminal_chat_with_a_bad_key(live_server):
    child = spawn_chat(live_server, "sk-mem-wrong")
    child.expect("error: Incorrect API key")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 1


@pytest.mark.parametrize("conversation_id, message", [
    ("conv_nope", "Invalid conversation id 'conv_nope'"),
    ("conv_01JD0000000000000000000000", "No conversation"),
])
def test_terminal_chat_refuses_a_conversation_it_cannot_continue(live_server, make_key, conversation_id, message):
    child = spawn_chat(live_server, make_key("alice"), "--conversation", conversation_id)
    child.expect(f"error: {message}")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 1


def test_terminal_chat_with_capture_queues_a_job_per_turn(live_server, make_key, client):
    key = make_key("alice")
    child = spawn_chat(live_server, key, "--capture")
    child.expect("you> ")
    child.sendline("I'm vegetarian now.")
    child.expect(r"capture job (cap_\w+)\]")
    job = child.match.group(1)
    child.expect("you> ")
    child.sendline("quit")
    child.expect(pexpect.EOF)
    child.close()
    state = client.get(f"/v1/memory/capture/jobs/{job}", headers=auth(key))
    assert state.status_code == 200 and state.json["state"] == "queued", state.json
