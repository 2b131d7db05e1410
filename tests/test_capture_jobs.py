"""Automatic capture: a chat turn, once answered, becomes a capture job that a worker carries out."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from helpers import REPO, auth, subprocess_env, wait_until, with_provider
from memory_api import create_app
from memory_api.services import Services

LIKES = {"role": "user", "content": "By the way, I've become vegetarian."}
ADD_VEGETARIAN = {"operations": [
    {"action": "add", "memory_id": None, "content": "Is vegetarian.", "reason": "said they became vegetarian"}]}


@pytest.fixture
def capture_env(settings, fake_llm):
    made: list[Services] = []

    def make(**changes):
        svc = Services.build(with_provider(settings, fake_llm, **changes))
        made.append(svc)
        return create_app(svc.settings, svc).test_client(), svc

    yield make
    for svc in made:
        svc.close()


def chat(client, key, memory=None, stream=False, messages=(LIKES,), **extra):
    body = {"model": "gpt-4o-mini", "messages": list(messages), "stream": stream, **extra}
    if memory is not None:
        body["memory"] = memory
    return client.post("/v1/chat/completions", json=body, headers=auth(key))


def job_state(client, key, job_id):
    return client.get(f"/v1/memory/capture/jobs/{job_id}", headers=auth(key)).json


def test_a_turn_with_capture_becomes_a_memory_after_the_answer(capture_env, fake_llm, make_key):
    client, svc = capture_env()
    key = make_key("alice")
    fake_llm.extractions.append(ADD_VEGETARIAN)
    resp = chat(client, key, memory={"capture": True}, conversation_id="new")
    assert resp.status_code == 200, resp.json
    job_id = resp.json["memory"]["capture_job"]
    assert resp.headers["x-memory-capture-job"] == job_id
    assert fake_llm.extraction_requests == []  # the answer did not wait for capture
    assert job_state(client, key, job_id)["state"] == "queued"
    assert svc.capture_jobs.work("test-worker", block_ms=10) == 1
    state = job_state(client, key, job_id)
    assert (state["state"], state["attempts"], state["error"]) == ("done", 1, None)
    [result] = state["results"]
    memory = result["memory"]
    assert (memory["content"], memory["source"], result["status"]) == ("Is vegetarian.", "auto", "applied")
    assert memory["origin"] == {"conversation_id": resp.json["conversation_id"], "turn": 0}
    # The model read the turn: the user's message and the answer.
    sent = fake_llm.extraction_requests[-1]["messages"][1]["content"]
    assert '{"role": "user", "content": "By the way, I\'ve become vegetarian."}' in sent
    assert '{"role": "assistant", "content": "echo: ' in sent
    assert client.get("/v1/memory/stats", headers=auth(key)).json["capture_tokens"] > 0
    # Only the user whose turn it was can see the job.
    assert client.get(f"/v1/memory/capture/jobs/{job_id}", headers=auth(make_key("bob"))).status_code == 404


def test_a_streamed_turn_is_captured_once_it_completes(capture_env, fake_llm, make_key):
    client, svc = capture_env()
    key = make_key("alice")
    fake_llm.extractions.append(ADD_VEGETARIAN)
    resp = chat(client, key, memory={"capture": True}, stream=True)
    job_id = resp.headers["x-memory-capture-job"]
    assert b"[DONE]" in resp.get_data()
    svc.capture_jobs.work("test-worker", block_ms=10)
    assert job_state(client, key, job_id)["state"] == "done"
    [memory] = client.get("/v1/memory?source=auto", headers=auth(key)).json["data"]
    assert memory["origin"] is None  # not a kept conversation


def test_capture_off_means_the_model_is_never_asked(capture_env, fake_llm, make_key):
    client, svc = capture_env(auto_capture=False)  # MEMORY_API_AUTO_CAPTURE=false
    key = make_key("alice")
    assert "capture_job" not in chat(client, key).json["memory"]
    on_client, on_svc = capture_env(auto_capture=True)
    refused = chat(on_client, key, memory={"capture": False})
    assert "capture_job" not in refused.json["memory"] and "x-memory-capture-job" not in refused.headers
    assert on_svc.capture_jobs.work("test-worker", block_ms=10) == 0
    assert fake_llm.extraction_requests == []
    # With the server default on, a turn is captured without asking.
    assert "capture_job" in chat(on_client, key).json["memory"]
    # Unset, it is on, as a provider is configured (tests/test_capture_filter.py has more).
    assert "capture_job" in chat(capture_env(auto_capture=None)[0], key).json["memory"]


def test_a_provider_outage_delays_capture_and_loses_nothing(capture_env, fake_llm, make_key):
    client, svc = capture_env(capture_retry_seconds=0.05)
    key = make_key("alice")
    job_id = chat(client, key, memory={"capture": True}).json["memory"]["capture_job"]
    outage = (503, {"error": {"message": "overloaded", "type": "server_error"}}, {})
    fake_llm.errors += [outage, outage]
    fake_llm.extractions.append(ADD_VEGETARIAN)
    svc.capture_jobs.work("w1", block_ms=10)
    state = job_state(client, key, job_id)
    assert state["state"] == "retrying" and "overloaded" in state["error"]
    assert client.get("/v1/memory", headers=auth(key)).json["data"] == []
    wait_until(lambda: svc.capture_jobs.work("w1", block_ms=10) >= 0 and
               job_state(client, key, job_id)["state"] == "done", what="the job to be done after the outage")
    assert job_state(client, key, job_id)["attempts"] == 3
    assert [m["content"] for m in client.get("/v1/memory", headers=auth(key)).json["data"]] == ["Is vegetarian."]


def test_a_malformed_answer_fails_the_job_and_changes_nothing(capture_env, fake_llm, make_key):
    client, svc = capture_env()
    key = make_key("alice")
    job_id = chat(client, key, memory={"capture": True}).json["memory"]["capture_job"]
    fake_llm.extractions.append("I think the user likes vegetables!")
    svc.capture_jobs.work("w1", block_ms=10)
    state = job_state(client, key, job_id)
    assert state["state"] == "failed" and state["error"].startswith("invalid_extraction")
    assert client.get("/v1/memory", headers=auth(key)).json["data"] == []
    assert svc.capture_jobs.backlog() == 0


def test_a_job_applied_again_changes_memories_once(capture_env, fake_llm, make_key):
    """What a retry after a crash between applying and acknowledging does: the kept operations are
    applied again, to the same effect."""
    client, svc = capture_env()
    key = make_key("alice")
    mine = client.post("/v1/memory", json={"content": "I eat meat"}, headers=auth(key)).json
    no_meat = {"role": "user", "content": "I don't eat meat any more."}
    job_id = chat(client, key, memory={"capture": True}, messages=[no_meat]).json["memory"]["capture_job"]
    fake_llm.extractions.append({"operations": [
        ADD_VEGETARIAN["operations"][0],
        {"action": "delete", "memory_id": mine["id"], "content": None, "reason": "no longer eats meat"}]})
    [(entry_id, job)] = svc.capture_jobs._queue.read("w1", count=1, block_ms=10)
    svc.capture_jobs.process(entry_id, job)
    svc.capture_jobs.process(entry_id, job)  # delivered again
    assert len(fake_llm.extraction_requests) == 1  # the model was asked once
    contents = [m["content"] for m in client.get("/v1/memory", headers=auth(key)).json["data"]]
    assert contents == ["Is vegetarian.", "I eat meat"]
    assert len(client.get("/v1/memory/suggestions", headers=auth(key)).json["data"]) == 1
    assert job_state(client, key, job_id)["state"] == "done"


def test_a_worker_killed_mid_job_leaves_it_to_another(capture_env, fake_llm, make_key, settings, tmp_path):
    client, svc = capture_env()
    key = make_key("alice")
    job_id = chat(client, key, memory={"capture": True}).json["memory"]["capture_job"]
    fake_llm.hold_extractions = 1  # the first worker's request: the model thinks until the worker is killed
    env = subprocess_env(REDIS_URL=settings.redis_url, OPENAI_BASE_URL=fake_llm.url, OPENAI_API_KEY="sk-upstream",
                         MEMORY_API_CAPTURE_RETRY_SECONDS="0.5", MEMORY_API_EMBEDDINGS="off")

    def start_worker(name):
        log = open(tmp_path / f"{name}.log", "wb")
        return subprocess.Popen([sys.executable, "-m", "memory_api.cli", "worker"], cwd=REPO, env=env,
                                stdout=log, stderr=subprocess.STDOUT), log

    first, first_log = start_worker("first")
    try:
        assert fake_llm.extraction_received.wait(30), (tmp_path / "first.log").read_text()
        os.kill(first.pid, signal.SIGKILL)  # mid-job: the model is still thinking
        first.wait(10)
    finally:
        first_log.close()
    fake_llm.extractions.append(ADD_VEGETARIAN)  # what the model answers the next worker
    second, second_log = start_worker("second")
    try:
        wait_until(lambda: job_state(client, key, job_id)["state"] == "done", timeout=30,
                   what="another worker to finish the job")
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(15)
        second_log.close()
    assert [m["content"] for m in client.get("/v1/memory", headers=auth(key)).json["data"]] == ["Is vegetarian."]
    assert job_state(client, key, job_id)["attempts"] == 2


def test_capture_on_a_responses_request_is_refused(capture_env, fake_llm, make_key):
    client, svc = capture_env()
    resp = client.post("/v1/responses", json={"model": "gpt-4o-mini", "input": "hi", "memory": {"capture": True}},
                       headers=auth(make_key("alice")))
    assert resp.status_code == 400 and resp.json["error"]["param"] == "memory.capture"


def test_a_conversation_can_turn_capture_on_or_off(capture_env, fake_llm, make_key):
    client, svc = capture_env()  # server default: off
    key = make_key("alice")
    on = client.post("/v1/conversations", json={"capture": True}, headers=auth(key)).json
    assert on["capture"] is True
    assert "capture_job" in chat(client, key, conversation_id=on["id"]).json["memory"]
    # The request still has the last word.
    assert "capture_job" not in chat(client, key, conversation_id=on["id"], memory={"capture": False}).json["memory"]
    on_client, _ = capture_env(auto_capture=True)
    off = on_client.post("/v1/conversations", json={"capture": False}, headers=auth(key)).json
    assert "capture_job" not in chat(on_client, key, conversation_id=off["id"]).json["memory"]
    default = on_client.post("/v1/conversations", json={}, headers=auth(key)).json
    assert default["capture"] is None
    assert "capture_job" in chat(on_client, key, conversation_id=default["id"]).json["memory"]
    bad = client.post("/v1/conversations", json={"capture": "yes"}, headers=auth(key))
    assert bad.status_code == 400 and bad.json["error"]["param"] == "capture"


def test_capture_stays_within_the_conversations_scope(capture_env, fake_llm, make_key):
    client, svc = capture_env()
    key = make_key("alice")
    other = client.post("/v1/memory", json={"content": "Osprey launch is on hold", "scope": "osprey"},
                        headers=auth(key)).json
    shared = client.post("/v1/memory", json={"content": "Launch reviews happen on Fridays"}, headers=auth(key)).json
    conv = client.post("/v1/conversations", json={"scope": "falcon", "capture": True}, headers=auth(key)).json
    job = chat(client, key, conversation_id=conv["id"],
               messages=[{"role": "user", "content": "The Falcon launch moved to May."}]).json["memory"]["capture_job"]
    fake_llm.extractions.append({"operations": [
        {"action": "add", "memory_id": None, "content": "Falcon launches in May.", "reason": "said so"}]})
    svc.capture_jobs.work("w", block_ms=10)
    assert job_state(client, key, job)["state"] == "done"
    shown = fake_llm.extraction_requests[-1]["messages"][1]["content"]
    assert shared["id"] in shown and other["id"] not in shown  # another scope's memories are not candidates
    [added] = client.get("/v1/memory?source=auto", headers=auth(key)).json["data"]
    assert added["scope"] == "falcon"
    # Without a scope, capture sees (and adds to) the global memories only, as chat injects them.
    fake_llm.extractions.append({"operations": []})
    extracted = client.post("/v1/memory/extract", json={"messages": [
        {"role": "user", "content": "The Osprey launch is on hold, and launch reviews happen on Fridays."}]},
        headers=auth(key))
    assert extracted.status_code == 200, extracted.json
    shown = fake_llm.extraction_requests[-1]["messages"][1]["content"]
    assert shared["id"] in shown and other["id"] not in shown


def test_a_user_who_turns_capture_off_is_never_captured(capture_env, fake_llm, make_key):
    client, svc = capture_env(auto_capture=True)
    key = make_key("alice")
    assert client.get("/v1/memory/preferences", headers=auth(key)).json == {
        "object": "memory.preferences", "capture": None, "capture_default": True}
    queued = chat(client, key).json["memory"]["capture_job"]  # queued before the user says no
    off = client.patch("/v1/memory/preferences", json={"capture": False}, headers=auth(key))
    assert off.status_code == 200 and off.json["capture"] is False
    assert "capture_job" not in chat(client, key).json["memory"]
    assert "capture_job" not in chat(client, key, memory={"capture": True}).json["memory"]  # the user's word wins
    conv = client.post("/v1/conversations", json={"capture": True}, headers=auth(key)).json
    assert "capture_job" not in chat(client, key, conversation_id=conv["id"]).json["memory"]
    svc.capture_jobs.work("w", block_ms=10)
    assert job_state(client, key, queued)["state"] == "skipped"
    assert fake_llm.extraction_requests == []
    # Another user is not affected; null goes back to the server's default.
    assert "capture_job" in chat(client, make_key("bob")).json["memory"]
    client.patch("/v1/memory/preferences", json={"capture": None}, headers=auth(key))
    assert "capture_job" in chat(client, key).json["memory"]
    bad = client.patch("/v1/memory/preferences", json={"capture": "no"}, headers=auth(key))
    assert bad.status_code == 400 and bad.json["error"]["param"] == "capture"


# --- what a review of the job code found ---------------------------------------------------------


def test_a_slow_model_does_not_get_the_job_taken_over(capture_env, fake_llm, make_key):
    """A worker on a job renews its lease, so another worker does not take the job up while the model is
    still thinking (longer than the retry delay), and the model is asked once."""
    client, svc = capture_env(capture_retry_seconds=0.2)
    key = make_key("alice")
    job_id = chat(client, key, memory={"capture": True}).json["memory"]["capture_job"]
    fake_llm.hold_extractions = 1
    fake_llm.extractions.append(ADD_VEGETARIAN)
    first = threading.Thread(target=svc.capture_jobs.work, args=("A",), kwargs={"block_ms": 10})
    first.start()
    try:
        assert fake_llm.extraction_received.wait(10)
        deadline = time.monotonic() + 1.0  # five retry delays: long enough for a takeover to happen
        while time.monotonic() < deadline:
            assert svc.capture_jobs.work("B", block_ms=10) == 0
    finally:
        fake_llm.extraction_gate.set()
        first.join(10)
    assert len(fake_llm.extraction_requests) == 1
    assert job_state(client, key, job_id)["state"] == "done"
    assert [m["content"] for m in client.get("/v1/memory", headers=auth(key)).json["data"]] == ["Is vegetarian."]


def test_a_passing_failure_while_applying_is_retried_not_lost(capture_env, fake_llm, make_key):
    client, svc = capture_env(embeddings="provider", embedding_dimensions=64, capture_retry_seconds=0.05)
    key = make_key("alice")
    job_id = chat(client, key, memory={"capture": True}).json["memory"]["capture_job"]
    fake_llm.extractions.append(ADD_VEGETARIAN)
    fake_llm.failing_embeddings = {"Is vegetarian."}  # embedding the new memory fails, once
    svc.capture_jobs.work("w", block_ms=10)
    assert job_state(client, key, job_id)["state"] == "retrying"
    wait_until(lambda: svc.capture_jobs.work("w", block_ms=10) >= 0 and
               job_state(client, key, job_id)["state"] == "done", what="the job to be done")
    assert [m["content"] for m in client.get("/v1/memory", headers=auth(key)).json["data"]] == ["Is vegetarian."]
    assert len(fake_llm.extraction_requests) == 1  # the model's operations were kept


class Crash(BaseException):
    """A worker dying between applying and recording the job done."""


def test_a_retry_after_a_crash_does_not_redo_what_the_user_undid(capture_env, fake_llm, make_key, monkeypatch):
    client, svc = capture_env()
    key = make_key("alice")
    chat(client, key, memory={"capture": True})
    fake_llm.extractions.append(ADD_VEGETARIAN)
    [(entry_id, job)] = svc.capture_jobs._queue.read("w1", count=1, block_ms=10)
    with monkeypatch.context() as m:
        m.setattr(svc.capture_jobs, "_finish", lambda *a, **k: (_ for _ in ()).throw(Crash()))
        with pytest.raises(Crash):
            svc.capture_jobs.process(entry_id, job)
    [memory] = client.get("/v1/memory", headers=auth(key)).json["data"]
    assert client.delete(f"/v1/memory/{memory['id']}", headers=auth(key)).status_code == 200  # the user says no
    svc.capture_jobs.process(entry_id, job)  # delivered again
    assert client.get("/v1/memory", headers=auth(key)).json["data"] == []
    assert job_state(client, key, job["id"])["state"] == "done"
