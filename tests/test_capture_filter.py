"""Memory that learns out of the box: capture on by default with a provider, the pre-filter that skips turns
with nothing to remember (services/capture_filter.py), and explicit requests acted on within their turn."""

from __future__ import annotations

import pytest

from helpers import auth, with_provider
from memory_api import create_app
from memory_api.cli.serve import capture_status
from memory_api.config import ConfigError, Settings
from memory_api.services import Services
from memory_api.services.capture_filter import is_explicit_request, nothing_to_remember
from memory_api.services.capture_prompt import INSTRUCTIONS


def said(text: str) -> list[dict]:
    return [{"role": "user", "content": text}, {"role": "assistant", "content": "Sure."}]


@pytest.mark.parametrize("text", [
    "thanks!", "Thank you so much, Anna!", "ok", "Okay, got it.", "hi", "Hey there!", "Good morning!",
    "lol", "👍", "Wow, that's amazing!", "I see.", "Me too!", "I'm so happy for you!", "Sounds good.",
    "What's the boiling point of water?", "How does a heat pump work?", "Can you tell me why the sky is blue?",
    "Write a haiku about the sea.", "Explain recursion to me like I'm five",  # "I'm five": a figure of speech...
])
def test_turns_with_nothing_to_remember_skip_the_model(text):
    if "I'm five" in text:  # ...but the rule cannot know that: a first-person word is captured
        assert not nothing_to_remember(said(text))
        return
    assert nothing_to_remember(said(text)), text


@pytest.mark.parametrize("text", [
    "I'm vegetarian.", "My wife is called Ana.", "We moved to Berlin.", "Thanks! I start the new job on Monday.",
    "Just started doing aerial yoga.", "Been busy with the move.", "Researching adoption agencies.",
    "She had a tough time after the divorce.", "It was a poetry reading, really moving.",
    "Ich bin Vegetarier.", "Je suis végétarien.", "The wedding is on 5 June.", "Heading to Lisbon soon?",
    "How should I tell my boss?", "Can you recommend a book for my son?",
    "What's the capital of Peru?",  # a name: the rule cannot tell a place asked about from one lived in
])
def test_turns_that_may_say_something_go_to_the_model(text):
    assert not nothing_to_remember(said(text)), text


@pytest.mark.parametrize("text", [
    "Remember that I'm vegetarian.", "please remember my wife's name is Ana", "Don't forget the dentist!",
    "Forget that I said I like jazz.", "forget my address", "Can you remember this: blue", "Ok, remember it",
    "Keep in mind the deadline", "Memorize this",
])
def test_an_explicit_request_is_never_skipped(text):
    assert is_explicit_request(text)
    assert not nothing_to_remember(said(text))


def test_asking_whether_the_assistant_remembers_is_no_request():
    assert not is_explicit_request("Do you remember the film we talked about?")


def test_a_turn_with_an_image_or_no_user_text_is_not_judged():
    image = [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "data:image/png;base64,AA"}}]}]
    assert not nothing_to_remember(image)
    parts = [{"role": "user", "content": [{"type": "text", "text": "thanks!"}]}]
    assert nothing_to_remember(parts)
    # Only the user's words count: the assistant's answer says nothing about the user.
    assert nothing_to_remember([{"role": "user", "content": "ok"},
                                {"role": "assistant", "content": "I moved to Berlin in 2020."}])


# --- the default --------------------------------------------------------------------------------------


def test_capture_is_on_by_default_when_a_provider_is_configured():
    assert Settings().capture_by_default is False  # no provider: nothing to ask
    assert Settings(openai_api_key="sk-x").capture_by_default is True
    assert Settings(openai_base_url="http://localhost:1/v1").capture_by_default is True
    assert Settings(openai_api_key="sk-x", auto_capture=False).capture_by_default is False
    env = {"OPENAI_API_KEY": "sk-x"}
    assert Settings.from_env(env).auto_capture is None
    for raw, expected in (("false", False), ("off", False), ("0", False), ("true", True), ("auto", None),
                          ("", None)):
        assert Settings.from_env({**env, "MEMORY_API_AUTO_CAPTURE": raw}).auto_capture is expected, raw
    assert Settings.from_env({**env, "MEMORY_API_AUTO_CAPTURE": "false"}).capture_by_default is False
    with pytest.raises(ConfigError):
        Settings.from_env({"MEMORY_API_AUTO_CAPTURE": "sometimes"})


def test_serve_says_whether_capture_is_on_and_how_to_turn_it_off():
    on = capture_status(Settings(openai_api_key="sk-x"))
    assert on.startswith("automatic capture on") and "MEMORY_API_AUTO_CAPTURE=false" in on
    assert "memory-api worker" in capture_status(Settings(openai_api_key="sk-x", capture_workers=0))
    assert capture_status(Settings()) == "automatic capture off: no model provider configured"
    off = capture_status(Settings(openai_api_key="sk-x", auto_capture=False))
    assert off.startswith("automatic capture off (MEMORY_API_AUTO_CAPTURE=false)")


# --- jobs -----------------------------------------------------------------------------------------------


@pytest.fixture
def default_env(settings, fake_llm):
    """The service as it starts with a provider configured and MEMORY_API_AUTO_CAPTURE unset."""
    svc = Services.build(with_provider(settings, fake_llm, auto_capture=None))
    yield create_app(svc.settings, svc).test_client(), svc
    svc.close()


def chat(client, key, text, **memory):
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": text}]}
    if memory:
        body["memory"] = memory
    resp = client.post("/v1/chat/completions", json=body, headers=auth(key))
    assert resp.status_code == 200, resp.json
    return resp


def job(client, key, job_id):
    return client.get(f"/v1/memory/capture/jobs/{job_id}", headers=auth(key)).json


def test_a_turn_with_nothing_to_remember_ends_skipped_without_a_model_call(default_env, fake_llm, make_key):
    client, svc = default_env
    key = make_key("alice")
    job_id = chat(client, key, "Thanks, that's great!").json["memory"]["capture_job"]  # on by default
    assert svc.capture_jobs.work("w1", block_ms=10) == 1
    state = job(client, key, job_id)
    assert (state["state"], state["reason"], state["results"], state["error"]) == \
        ("skipped", "nothing to remember", None, None)
    assert fake_llm.extraction_requests == []
    assert svc.capture_jobs.backlog() == 0
    # Off for this request: no job at all; and a user who turned capture off is skipped, and told why.
    assert "capture_job" not in chat(client, key, "I'm vegetarian.", capture=False).json["memory"]
    client.patch("/v1/memory/preferences", json={"capture": True}, headers=auth(key))
    job_id = chat(client, key, "I'm vegetarian.").json["memory"]["capture_job"]
    client.patch("/v1/memory/preferences", json={"capture": False}, headers=auth(key))
    svc.capture_jobs.work("w1", block_ms=10)
    assert (job(client, key, job_id)["state"], job(client, key, job_id)["reason"]) == \
        ("skipped", "the user turned capture off")
    assert fake_llm.extraction_requests == []


def test_an_explicit_request_is_acted_on_within_its_turn(default_env, fake_llm, make_key):
    client, svc = default_env
    key = make_key("alice")
    fake_llm.extractions.append({"operations": [
        {"action": "add", "memory_id": None, "content": "Is vegetarian.", "reason": "asked to remember it"}]})
    job_id = chat(client, key, "Remember that I'm vegetarian.").json["memory"]["capture_job"]
    svc.capture_jobs.work("w1", block_ms=10)
    state = job(client, key, job_id)
    assert (state["state"], state["reason"]) == ("done", None)
    [added] = state["results"]
    assert (added["status"], added["memory"]["content"]) == ("applied", "Is vegetarian.")
    # The model was told that an explicit request must be acted on now, and read the request.
    [asked] = fake_llm.extraction_requests
    assert asked["messages"][0]["content"] == INSTRUCTIONS and "must be acted on now" in INSTRUCTIONS
    assert "Remember that I'm vegetarian." in asked["messages"][1]["content"]

    # "Forget": the named memory goes, in that turn's job.
    memory_id = added["memory"]["id"]
    fake_llm.extractions.append({"operations": [
        {"action": "delete", "memory_id": memory_id, "content": None, "reason": "asked to forget it"}]})
    job_id = chat(client, key, "Please forget that I'm vegetarian.").json["memory"]["capture_job"]
    svc.capture_jobs.work("w1", block_ms=10)
    state = job(client, key, job_id)
    assert state["state"] == "done" and [r["status"] for r in state["results"]] == ["applied"]
    assert len(fake_llm.extraction_requests) == 2
    assert client.get(f"/v1/memory/{memory_id}", headers=auth(key)).status_code == 404
