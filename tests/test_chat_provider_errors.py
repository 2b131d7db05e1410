"""The provider's failures become our envelope, with the status the issue asks for."""

from __future__ import annotations

import openai
import pytest

from helpers import auth, free_port, with_provider

ASK = {"messages": [{"role": "user", "content": "hi"}]}


@pytest.fixture
def settings(settings, fake_llm):
    return with_provider(settings, fake_llm, upstream_timeout=0.5)


def provider_error(status, message="nope", param=None, headers=None):
    return (status, {"error": {"message": message, "type": "x", "param": param, "code": None}}, headers or {})


@pytest.mark.parametrize("stream", [False, True])
def test_rate_limit_keeps_retry_after(client, make_key, fake_llm, stream):
    fake_llm.errors.append(provider_error(429, "slow down", headers={"Retry-After": "7"}))
    resp = client.post("/v1/chat/completions", json={**ASK, "stream": stream}, headers=auth(make_key("alice")))
    assert resp.status_code == 429
    assert resp.headers["Retry-After"] == "7"
    assert resp.json["error"]["type"] == "x"  # the provider's own type (issue 12 item 2)
    assert resp.json["error"]["message"] == "slow down"


def test_provider_4xx_is_400_with_its_message(client, make_key, fake_llm):
    fake_llm.errors.append(provider_error(400, "This model's maximum context length is 8192 tokens.", "messages"))
    resp = client.post("/v1/chat/completions", json=ASK, headers=auth(make_key("alice")))
    assert resp.status_code == 400
    assert resp.json["error"]["message"] == "This model's maximum context length is 8192 tokens."
    assert resp.json["error"]["param"] == "messages"
    fake_llm.errors.append(provider_error(404, "The model 'gpt-9' does not exist"))
    resp = client.post("/v1/chat/completions", json={**ASK, "model": "gpt-9"}, headers=auth(make_key("bob")))
    assert resp.status_code == 400 and "gpt-9" in resp.json["error"]["message"]


def test_provider_auth_failure_is_a_non_retryable_424(client, make_key, fake_llm):
    fake_llm.errors.append(provider_error(401, "Incorrect API key provided"))
    resp = client.post("/v1/chat/completions", json=ASK, headers=auth(make_key("alice")))
    assert resp.status_code == 424
    assert resp.json["error"]["code"] == "upstream_auth_failed"
    assert resp.headers["x-should-retry"] == "false"


def test_provider_5xx_is_502(client, make_key, fake_llm):
    fake_llm.errors.append(provider_error(503, "overloaded"))
    resp = client.post("/v1/chat/completions", json=ASK, headers=auth(make_key("alice")))
    assert resp.status_code == 502
    assert resp.json["error"]["type"] == "upstream_error"


def test_slow_provider_is_504(client, make_key, fake_llm):
    fake_llm.response_delay = 2
    resp = client.post("/v1/chat/completions", json=ASK, headers=auth(make_key("alice")))
    assert resp.status_code == 504
    assert resp.json["error"]["code"] == "upstream_timeout"


def test_unreachable_provider_is_502(settings, make_key):
    from memory_api import create_app

    broken = create_app(settings.replace(openai_base_url=f"http://127.0.0.1:{free_port()}/v1"))
    resp = broken.test_client().post("/v1/chat/completions", json=ASK, headers=auth(make_key("alice")))
    assert resp.status_code == 502
    assert resp.json["error"]["code"] == "upstream_unreachable"


def test_sdk_sees_the_matching_exception_classes(sdk, make_key, fake_llm):
    client = sdk(make_key("alice"))
    fake_llm.errors.append(provider_error(429, "slow down", headers={"Retry-After": "1"}))
    with pytest.raises(openai.RateLimitError):
        client.chat.completions.create(model="gpt-4o-mini", **ASK)
    fake_llm.errors.append(provider_error(400, "bad"))
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(model="gpt-4o-mini", **ASK)
    fake_llm.errors.append(provider_error(500, "bad"))
    with pytest.raises(openai.InternalServerError) as info:
        client.chat.completions.create(model="gpt-4o-mini", **ASK)
    assert info.value.status_code == 502
