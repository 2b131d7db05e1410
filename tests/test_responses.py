"""/v1/responses with memory in `instructions`, and /v1/models passed through (issue 12 item 3).

Driven with the official `openai` SDK and raw HTTP against the provider
stand-in (tests/fake_llm.py), which serves a Responses API of its own.
"""

from __future__ import annotations

import json

import httpx
import openai
import pytest

from helpers import auth, with_provider
from memory_api.services.context_block import BLOCK_END, BLOCK_START, memory_lines


@pytest.fixture
def settings(settings, fake_llm):
    return with_provider(settings, fake_llm, upstream_timeout=5)


def block_lines(instructions: str | None) -> list[str]:
    """The memories inside the block the provider received in `instructions`."""
    if not instructions or BLOCK_START not in instructions:
        return []
    block = instructions[instructions.index(BLOCK_START): instructions.index(BLOCK_END)]
    return memory_lines(block)


def sse_events(raw: bytes) -> list[tuple[str | None, dict]]:
    """(event name, data) of each event of a Responses stream."""
    events = []
    for chunk in raw.decode().split("\n\n"):
        if not chunk.strip():
            continue
        fields = dict(line.split(": ", 1) for line in chunk.split("\n"))
        events.append((fields.get("event"), json.loads(fields["data"])))
    return events


def test_sdk_create_appends_memories_to_instructions(sdk, make_key, services, fake_llm):
    services.memories.create("alice", "Allergic to peanuts.")
    response = sdk(make_key("alice")).responses.create(model="gpt-4o-mini", input="Can I eat peanuts?",
                                                       instructions="Be brief.")
    assert response.output_text == "echo: Can I eat peanuts?"
    sent = fake_llm.responses_requests[-1]
    assert sent["instructions"].startswith("Be brief.\n\n" + BLOCK_START)
    assert block_lines(sent["instructions"]) == ["Allergic to peanuts."]
    assert sent["input"] == "Can I eat peanuts?"
    assert response.memory["injected_ids"] and response.memory["word_count"] == 3


def test_memories_are_ranked_on_the_latest_user_input(client, make_key, services, fake_llm):
    services.memories.create("alice", "Owns a red bicycle.")
    services.memories.create("alice", "Drinks green tea.")
    body = {"model": "gpt-4o-mini", "memory": {"max_words": 4},
            "input": [{"role": "user", "content": "Tea or coffee?"},
                      {"role": "assistant", "content": "Tea."},
                      {"role": "user", "content": [{"type": "input_text", "text": "Fix my bicycle chain?"}]}]}
    resp = client.post("/v1/responses", json=body, headers=auth(make_key("alice")))
    assert resp.status_code == 200, resp.json
    assert block_lines(fake_llm.responses_requests[-1]["instructions"]) == ["Owns a red bicycle."]
    assert resp.headers["x-memory-injected-count"] == "1" and resp.headers["x-memory-omitted-count"] == "1"


def test_previous_response_id_store_and_other_fields_pass_through(client, make_key, fake_llm):
    body = {"model": "gpt-4o-mini", "input": "and then?", "previous_response_id": "resp_abc", "store": False,
            "reasoning": {"effort": "low"}, "memory": {"inject": False}}
    resp = client.post("/v1/responses", json=body, headers=auth(make_key("alice")))
    assert resp.status_code == 200, resp.json
    sent = fake_llm.responses_requests[-1]
    assert sent == {"model": "gpt-4o-mini", "input": "and then?", "previous_response_id": "resp_abc",
                    "store": False, "reasoning": {"effort": "low"}}  # no memory, no instructions added
    assert resp.json["previous_response_id"] == "resp_abc"


@pytest.mark.parametrize("field", ["stream", "stream_options", "memory", "instructions", "previous_response_id"])
def test_null_is_read_as_absent(client, make_key, fake_llm, field):
    resp = client.post("/v1/responses", json={"input": "hi", field: None}, headers=auth(make_key("alice")))
    assert resp.status_code == 200, resp.json
    assert resp.json["object"] == "response"


def test_stream_is_relayed_byte_for_byte(live_server, make_key, services, fake_llm):
    services.memories.create("alice", "Prefers metric units.")
    fake_llm.raw_unicode = True
    fake_llm.reply_text = "one\u2028two \u2029three \u0085four"
    with httpx.Client(timeout=10) as http:
        resp = http.post(f"{live_server.url}/v1/responses", headers=auth(make_key("alice")),
                         json={"model": "gpt-4o-mini", "input": "units?", "stream": True})
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/event-stream")
    assert resp.headers["x-memory-injected-count"] == "1"
    assert resp.content == fake_llm.last_sent_stream()
    assert sse_events(resp.content)[-1][0] == "response.completed"
    assert block_lines(fake_llm.responses_requests[-1]["instructions"]) == ["Prefers metric units."]


def test_sdk_stream_and_streamed_create(sdk, make_key, fake_llm):
    client = sdk(make_key("alice"))
    with client.responses.stream(model="gpt-4o-mini", input="stream me") as stream:
        deltas = [e.delta for e in stream if e.type == "response.output_text.delta"]
        final = stream.get_final_response()
    assert "".join(deltas) == "echo: stream me" == final.output_text
    events = list(client.responses.create(model="gpt-4o-mini", input="again", stream=True))
    assert [e.sequence_number for e in events] == list(range(len(events)))
    assert events[-1].type == "response.completed"


def test_a_stream_that_breaks_off_ends_with_one_error_event(live_server, make_key, fake_llm):
    fake_llm.break_after_chunks = 5
    with httpx.Client(timeout=10) as http:
        resp = http.post(f"{live_server.url}/v1/responses", headers=auth(make_key("alice")),
                         json={"input": "one two three four", "stream": True})
    events = sse_events(resp.content)
    assert [name for name, _ in events].count("error") == 1
    name, error = events[-1]
    assert name == "error" and error["type"] == "error" and error["code"] == "upstream_error"
    assert error["sequence_number"] == events[-2][1]["sequence_number"] + 1


@pytest.mark.parametrize("stream", [False, True])
def test_provider_errors_keep_their_fields(client, make_key, fake_llm, stream):
    error = {"message": "Input too long.", "type": "invalid_request_error", "param": "input",
             "code": "context_length_exceeded"}
    fake_llm.errors.append((400, {"error": error}, {}))
    resp = client.post("/v1/responses", json={"input": "hi", "stream": stream}, headers=auth(make_key("alice")))
    assert resp.status_code == 400 and resp.json["error"] == error


def test_a_provider_without_the_responses_api_is_501_naming_the_setting(client, make_key, fake_llm):
    fake_llm.serves_responses = False
    resp = client.post("/v1/responses", json={"input": "hi"}, headers=auth(make_key("alice")))
    assert resp.status_code == 501
    assert resp.json["error"]["code"] == "unsupported_by_provider"
    assert "MEMORY_API_UPSTREAM_RESPONSES" in resp.json["error"]["message"]
    assert resp.headers["x-should-retry"] == "false"


def test_responses_switched_off_is_501_without_calling_the_provider(settings, make_key, fake_llm):
    from memory_api import create_app

    off = create_app(settings.replace(upstream_responses=False)).test_client()
    resp = off.post("/v1/responses", json={"input": "hi", "stream": True}, headers=auth(make_key("alice")))
    assert resp.status_code == 501 and "MEMORY_API_UPSTREAM_RESPONSES=false" in resp.json["error"]["message"]
    assert fake_llm.requests == []


def test_our_conversation_id_is_refused_with_the_alternative(client, make_key):
    resp = client.post("/v1/responses", json={"input": "hi", "conversation_id": "new"},
                       headers=auth(make_key("alice")))
    assert resp.status_code == 400 and "previous_response_id" in resp.json["error"]["message"]


# --- /v1/models -------------------------------------------------------------------------------------


def test_models_pass_through(sdk, make_key, fake_llm):
    from fake_llm import MODELS

    client = sdk(make_key("alice"))
    fake_llm.response_headers = {"x-request-id": "req_models"}
    page = client.models.with_raw_response.list()
    assert page.headers["x-upstream-request-id"] == "req_models"
    assert [m.id for m in page.parse()] == [m["id"] for m in MODELS]
    assert client.models.retrieve("fake-reasoner").owned_by == "fake"
    with pytest.raises(openai.NotFoundError) as info:
        client.models.retrieve("gpt-9")
    assert info.value.code == "model_not_found"


def test_models_need_our_key(client):
    assert client.get("/v1/models").status_code == 401


def test_responses_and_chat_streams_share_one_cap_per_key(live_server, make_key, fake_llm, services):
    """MEMORY_API_MAX_STREAMS_PER_KEY counts a key's open streams of both kinds together."""
    import threading

    from helpers import wait_until

    assert services.settings.max_streams_per_key >= 1
    key = make_key("alice")
    fake_llm.stream_gate = threading.Event()
    held: list[int] = []

    def hold(path: str, body: dict) -> None:
        with httpx.Client(timeout=30) as http, http.stream("POST", f"{live_server.url}{path}", headers=auth(key),
                                                             json={**body, "stream": True}) as resp:
            held.append(resp.status_code)
            resp.read()

    cap = services.settings.max_streams_per_key
    holders = [threading.Thread(target=hold, args=("/v1/responses" if i % 2 else "/v1/chat/completions",
                                                   {"model": "gpt-4o-mini", "input": "hi"} if i % 2 else
                                                   {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}))
               for i in range(cap)]
    try:
        for thread in holders:
            thread.start()
        wait_until(lambda: fake_llm.streams_started >= cap, what="the key's streams to be open")
        with httpx.Client(timeout=10) as http:
            refused = http.post(f"{live_server.url}/v1/responses", headers=auth(key),
                                json={"model": "gpt-4o-mini", "input": "one more", "stream": True})
        assert refused.status_code == 429, refused.text
        assert refused.json()["error"]["code"] == "too_many_streams" and refused.headers["Retry-After"]
    finally:
        fake_llm.stream_gate.set()
        for thread in holders:
            thread.join(30)
    assert held == [200] * cap
    with httpx.Client(timeout=10) as http:  # the slots were given back
        again = http.post(f"{live_server.url}/v1/responses", headers=auth(key),
                          json={"model": "gpt-4o-mini", "input": "now", "stream": True})
    assert again.status_code == 200
