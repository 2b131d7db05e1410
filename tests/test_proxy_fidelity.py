"""The chat proxy is a drop-in: what a client gets through it is what the provider sent (issue 12).

Each test drives the real service over HTTP against the provider stand-in
(tests/fake_llm.py) and checks the bytes, fields, statuses and headers a
client library reads.
"""

from __future__ import annotations

import base64
import json

import httpx
import openai
import pytest

from helpers import auth, with_provider
from memory_api.config import Settings

ASK = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}
# JSON may carry these raw; a splitter that breaks lines on them (str.splitlines) corrupts the stream.
UNICODE_LINE_BREAKS = "line\u2028separator \u2029paragraph \u0085next"


@pytest.fixture
def settings(settings, fake_llm):
    return with_provider(settings, fake_llm, upstream_timeout=5)


def provider_error(status, message, *, type, code, param=None, headers=None):
    return (status, {"error": {"message": message, "type": type, "param": param, "code": code}}, headers or {})


def stream_through(live_server, key, body) -> httpx.Response:
    with httpx.Client(timeout=10) as http:
        return http.post(f"{live_server.url}/v1/chat/completions", json={**body, "stream": True},
                         headers=auth(key))


# --- item 1: U+2028, U+2029 and U+0085 inside a streamed event ------------------------------------


def test_raw_unicode_line_breaks_are_relayed_byte_for_byte(live_server, make_key, fake_llm):
    fake_llm.raw_unicode = True
    fake_llm.reply_text = UNICODE_LINE_BREAKS
    resp = stream_through(live_server, make_key("alice"), ASK)
    assert resp.status_code == 200
    assert "\u2028".encode() in resp.content  # raw, as the provider sent it, not escaped
    assert resp.content == fake_llm.last_sent_stream()


def test_sdk_reads_a_stream_with_raw_unicode_line_breaks(sdk, make_key, fake_llm):
    fake_llm.raw_unicode = True
    fake_llm.reply_text = UNICODE_LINE_BREAKS
    stream = sdk(make_key("alice")).chat.completions.create(**ASK, stream=True)
    text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert text == UNICODE_LINE_BREAKS


# --- item 7: one error event, the provider's ---------------------------------------------------------


def test_provider_error_event_mid_stream_is_the_only_error_event(live_server, make_key, fake_llm):
    fake_llm.error_event_after_chunks = 2
    resp = stream_through(live_server, make_key("alice"), ASK)
    assert resp.content == fake_llm.last_sent_stream()
    assert resp.content.count(b'"error"') == 1
    assert b"ended before it was complete" not in resp.content


# --- item 2: the provider's code, type, param and message are kept -----------------------------------


@pytest.mark.parametrize("stream", [False, True])
def test_context_overflow_keeps_the_providers_fields(client, make_key, fake_llm, stream):
    message = "This model's maximum context length is 8192 tokens. However, your messages resulted in 9000 tokens."
    fake_llm.errors.append(provider_error(400, message, type="invalid_request_error",
                                          code="context_length_exceeded", param="messages"))
    resp = client.post("/v1/chat/completions", json={**ASK, "stream": stream}, headers=auth(make_key("alice")))
    assert resp.status_code == 400
    assert resp.json["error"] == {"message": message, "type": "invalid_request_error", "param": "messages",
                                  "code": "context_length_exceeded"}


def test_insufficient_quota_is_not_a_transient_rate_limit(sdk, make_key, fake_llm):
    message = "You exceeded your current quota, please check your plan and billing details."
    fake_llm.errors.append(provider_error(429, message, type="insufficient_quota", code="insufficient_quota"))
    with pytest.raises(openai.RateLimitError) as info:
        sdk(make_key("alice")).chat.completions.create(**ASK)
    assert info.value.code == "insufficient_quota"
    assert info.value.type == "insufficient_quota"
    assert info.value.body["message"] == message  # not prefixed


# --- item 4: chat bodies up to MEMORY_API_MAX_CHAT_BODY_BYTES ----------------------------------------


def image_body(size: int) -> dict:
    image = base64.b64encode(b"\x89PNG" + b"\0" * size).decode()
    return {**ASK, "memory": {"inject": False}, "messages": [{"role": "user", "content": [
        {"type": "text", "text": "what is this?"},
        {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{image}"}}]}]}


def test_a_large_inline_image_passes_while_memory_bodies_keep_their_limit(client, make_key, fake_llm):
    key = make_key("alice")
    body = image_body(1_200_000)
    assert len(json.dumps(body)) > Settings().max_body_bytes
    resp = client.post("/v1/chat/completions", json=body, headers=auth(key))
    assert resp.status_code == 200, resp.json
    assert fake_llm.last_chat()["messages"] == body["messages"]
    big_memory = client.post("/v1/memory", json={"content": "x" * 1_200_000}, headers=auth(key))
    assert big_memory.status_code == 413


def test_chat_body_limit_is_a_setting(settings, make_key):
    from memory_api import create_app

    small = create_app(settings.replace(max_chat_body_bytes=2000)).test_client()
    resp = small.post("/v1/chat/completions", json=image_body(4000), headers=auth(make_key("alice")))
    assert resp.status_code == 413 and resp.json["error"]["code"] == "request_too_large"
    assert Settings().max_chat_body_bytes == 20 * 1024 * 1024


# --- item 5: an explicit null where OpenAI accepts one ------------------------------------------------


@pytest.mark.parametrize("field", ["stream", "stream_options", "memory"])
def test_null_is_read_as_absent(client, make_key, fake_llm, field):
    resp = client.post("/v1/chat/completions", json={**ASK, field: None}, headers=auth(make_key("alice")))
    assert resp.status_code == 200, resp.json
    assert resp.json["object"] == "chat.completion"  # "stream": null is not a stream


# --- item 6: the provider's headers ------------------------------------------------------------------

PROVIDER_HEADERS = {"x-ratelimit-limit-requests": "500", "x-ratelimit-remaining-requests": "499",
                    "x-ratelimit-reset-tokens": "6ms", "openai-processing-ms": "321",
                    "x-request-id": "req_provider123"}


@pytest.mark.parametrize("stream", [False, True])
def test_rate_limit_processing_and_request_id_headers_are_relayed(client, make_key, fake_llm, stream):
    fake_llm.response_headers = PROVIDER_HEADERS
    resp = client.post("/v1/chat/completions", json={**ASK, "stream": stream},
                       headers=auth(make_key("alice"), **{"X-Request-Id": "req_ours"}))
    assert resp.status_code == 200
    for name in ("x-ratelimit-limit-requests", "x-ratelimit-remaining-requests", "x-ratelimit-reset-tokens",
                 "openai-processing-ms"):
        assert resp.headers[name] == PROVIDER_HEADERS[name]
    assert resp.headers["x-request-id"] == "req_ours"
    assert resp.headers["x-upstream-request-id"] == "req_provider123"


def test_a_provider_429_carries_its_rate_limit_headers(client, make_key, fake_llm):
    fake_llm.errors.append(provider_error(429, "Rate limit reached", type="requests", code="rate_limit_exceeded",
                                          headers={"x-ratelimit-remaining-requests": "0",
                                                   "x-request-id": "req_provider429"}))
    resp = client.post("/v1/chat/completions", json=ASK, headers=auth(make_key("alice")))
    assert resp.status_code == 429
    assert resp.headers["x-ratelimit-remaining-requests"] == "0"
    assert resp.headers["x-upstream-request-id"] == "req_provider429"
    assert resp.headers["x-request-id"] != "req_provider429"


# --- item 8: timeouts and statuses -------------------------------------------------------------------


def test_upstream_timeout_defaults_to_the_sdks():
    assert Settings().upstream_timeout == openai.DEFAULT_TIMEOUT.read


def test_refused_provider_key_is_not_retried_by_the_sdk(live_server, make_key, fake_llm):
    fake_llm.errors.append(provider_error(401, "Incorrect API key provided: sk-upstream.", type="invalid_request_error",
                                          code="invalid_api_key"))
    client = openai.OpenAI(base_url=f"{live_server.url}/v1", api_key=make_key("alice"), max_retries=2)
    try:
        with pytest.raises(openai.APIStatusError) as info:
            client.chat.completions.create(**ASK)
    finally:
        client.close()
    assert len(fake_llm.chat_requests) == 1  # the SDK did not retry
    assert info.value.status_code == 424
    assert info.value.code == "upstream_auth_failed"
    assert "provider key" in info.value.message
