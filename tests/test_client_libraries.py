"""Client libraries nobody here wrote, driven through the proxy and straight at the provider (issue 12).

The `openai` SDK's own tests are in test_openai_sdk.py, test_proxy_fidelity.py
and test_responses.py (it is a dependency). Others are test extras; a test is
skipped, naming the missing package, only when that package is not installed.
"""

from __future__ import annotations

import pytest

from helpers import with_provider

# OpenAI's chat-completions overflow, and its Responses-era wording (which LangChain matches by message).
OVERFLOW_MESSAGES = [
    "This model's maximum context length is 128000 tokens. However, your messages resulted in 130000 tokens. "
    "Please reduce the length of the messages.",
    "Input tokens exceed the configured limit of 272000 tokens. Your messages resulted in 300000 tokens.",
]


@pytest.fixture
def settings(settings, fake_llm):
    return with_provider(settings, fake_llm, upstream_timeout=5)


def overflow(message: str):
    return (400, {"error": {"message": message, "type": "invalid_request_error", "param": "messages",
                            "code": "context_length_exceeded"}}, {})


@pytest.mark.parametrize("streaming", [False, True])
@pytest.mark.parametrize("message", OVERFLOW_MESSAGES)
def test_langchain_openai_sees_a_context_overflow_as_it_does_directly(live_server, make_key, fake_llm,
                                                                      streaming, message):
    langchain_openai = pytest.importorskip(
        "langchain_openai", reason="langchain-openai is not installed (pip install -e '.[test]')")
    from langchain_core.exceptions import ContextOverflowError

    def raised(base_url: str, key: str) -> Exception:
        model = langchain_openai.ChatOpenAI(model="gpt-4o-mini", base_url=base_url, api_key=key, max_retries=0,
                                            streaming=streaming)
        fake_llm.errors.append(overflow(message))
        with pytest.raises(Exception) as info:
            model.invoke("a very long conversation")
        return info.value

    direct = raised(fake_llm.url, "sk-upstream")
    proxied = raised(f"{live_server.url}/v1", make_key("alice"))
    assert type(proxied) is type(direct)
    assert proxied.body == direct.body and proxied.code == "context_length_exceeded"
    if "configured limit" in message:  # the wording this LangChain recognises by its message alone
        assert isinstance(proxied, ContextOverflowError)
