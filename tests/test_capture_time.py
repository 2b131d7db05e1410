"""Capture knows time (issue 23): the model is told the conversation's date and what it resolves is stored
as dates; a fact that ends an automatic memory ends it (valid_until, a link) instead of deleting it, one that
ends a memory the user wrote only suggests so; a fact with a last day expires after it.

The provider stand-in returns what a model would (fake_llm.extractions); the tests check what the service
sent it and what it stored."""

from __future__ import annotations

import datetime
import time

import pytest

from helpers import auth, with_provider
from memory_api import create_app
from memory_api.services import Services

UTC = datetime.timezone.utc
# Monday 8 May 2023, 14:00 UTC: when the conversation below took place
SAID_AT = int(datetime.datetime(2023, 5, 8, 14, 0, tzinfo=UTC).timestamp())
CHAT = [{"role": "user", "content": "Last Saturday I went hiking with my sister."},
        {"role": "assistant", "content": "Lovely! Where did you go?"}]


def day(year: int, month: int, d: int) -> int:
    return int(datetime.datetime(year, month, d, tzinfo=UTC).timestamp())


def op(action="add", content=None, memory_id=None, reason="said so", occurred_on=None, expires_on=None,
       supersedes=None):
    return {"action": action, "memory_id": memory_id, "content": content, "reason": reason,
            "occurred_on": occurred_on, "expires_on": expires_on, "supersedes": supersedes}


@pytest.fixture
def capture(settings, fake_llm):
    svc = Services.build(with_provider(settings, fake_llm))
    client = create_app(svc.settings, svc).test_client()
    yield client, svc
    svc.close()


def extract(client, key, messages=CHAT, **extra):
    resp = client.post("/v1/memory/extract", json={"messages": messages, "apply": True, **extra},
                       headers=auth(key))
    assert resp.status_code == 200, resp.json
    return resp.json


def remember(client, key, **body):
    resp = client.post("/v1/memory", json=body, headers=auth(key))
    assert resp.status_code == 200, resp.json
    return resp.json


def test_the_model_is_told_the_conversations_date_and_its_dates_are_stored(capture, fake_llm, make_key):
    client, _ = capture
    key = make_key("alice")
    fake_llm.extractions.append({"operations": [
        op(content="Went hiking with their sister on 6 May 2023.", occurred_on="2023-05-06")]})
    [result] = extract(client, key, occurred_at=SAID_AT)["results"]

    prompt = fake_llm.extraction_requests[-1]["messages"]
    assert "Conversation date: Monday, 8 May 2023 (2023-05-08)" in prompt[1]["content"]
    assert "resolve" in prompt[0]["content"] and "last" in prompt[0]["content"].lower()
    schema = fake_llm.extraction_requests[-1]["response_format"]["json_schema"]["schema"]
    assert {"occurred_on", "expires_on", "supersedes"} <= set(schema["properties"]["operations"]["items"]["required"])

    assert result["status"] == "applied"
    assert result["occurred_at"] == day(2023, 5, 6)
    stored = client.get(f"/v1/memory/{result['memory']['id']}", headers=auth(key)).json
    assert stored["occurred_at"] == day(2023, 5, 6) and stored["expires_at"] is None
    # the injected block dates it, so a "when" question can be answered from it
    block = client.post("/v1/memory/context", json={"query": "hiking sister"}, headers=auth(key)).json["text"]
    assert '(6 May 2023) "Went hiking with their sister on 6 May 2023."' in block


def test_a_fact_without_a_date_of_its_own_is_dated_when_it_was_said(capture, fake_llm, make_key):
    client, _ = capture
    key = make_key("alice")
    fake_llm.extractions.append({"operations": [op(content="Has a sister.")]})
    [result] = extract(client, key, occurred_at=SAID_AT)["results"]
    assert result["memory"]["occurred_at"] == SAID_AT
    # without occurred_at, the conversation is now
    fake_llm.extractions.append({"operations": [op(content="Likes hiking.")]})
    before = int(time.time())
    [result] = extract(client, key)["results"]
    assert before <= result["memory"]["occurred_at"] <= int(time.time())
    assert str(datetime.datetime.now(UTC).date()) in fake_llm.extraction_requests[-1]["messages"][1]["content"]


def test_a_fact_with_a_last_day_expires_after_it(capture, fake_llm, make_key):
    client, _ = capture
    key = make_key("alice")
    soon = datetime.datetime.now(UTC).date() + datetime.timedelta(days=3)
    fake_llm.extractions.append({"operations": [
        op(content=f"Dentist appointment on {soon.isoformat()}.", occurred_on=soon.isoformat(),
           expires_on=soon.isoformat()),
        op(content="Dentist appointment on 14 January 2023.", expires_on="2023-01-14")]})
    fresh, stale = extract(client, key)["results"]
    end_of_day = int(datetime.datetime(soon.year, soon.month, soon.day, tzinfo=UTC).timestamp()) + 86_400
    assert fresh["status"] == "applied" and fresh["memory"]["expires_at"] == end_of_day
    # a day already past: nothing stored (it would never be read)
    assert stale["status"] == "skipped" and "expired" in stale["detail"]
    assert [m["content"] for m in client.get("/v1/memory", headers=auth(key)).json["data"]] == [fresh["memory"]["content"]]
    # the user can change or clear it
    cleared = client.patch(f"/v1/memory/{fresh['memory']['id']}", json={"expires_at": None}, headers=auth(key))
    assert cleared.status_code == 200 and cleared.json["expires_at"] is None


def test_a_fact_that_ends_an_automatic_memory_ends_it_instead_of_deleting_it(capture, fake_llm, make_key):
    client, svc = capture
    key = make_key("alice")
    fake_llm.extractions.append({"operations": [op(content="Lives in Manchester.", occurred_on="2021-03-01")]})
    [first] = extract(client, key, occurred_at=SAID_AT - 400 * 86_400)["results"]
    old_id = first["memory"]["id"]

    moved = [{"role": "user", "content": "I moved from Manchester to Berlin on the 1st of May."}]
    fake_llm.extractions.append({"operations": [
        op(content="Moved to Berlin on 1 May 2023.", occurred_on="2023-05-01", supersedes=old_id,
           reason="moved from Manchester to Berlin")]})
    [result] = extract(client, key, messages=moved, occurred_at=SAID_AT)["results"]
    assert old_id in fake_llm.extraction_requests[-1]["messages"][1]["content"]  # it was a candidate

    assert result["status"] == "applied" and result["supersedes"] == old_id
    new = result["memory"]
    assert new["supersedes"] == old_id
    old = client.get(f"/v1/memory/{old_id}", headers=auth(key))
    assert old.status_code == 200, "the past is kept, not deleted"
    assert old.json["valid_until"] == day(2023, 5, 1) and old.json["content"] == "Lives in Manchester."
    assert old.json["source"] == "auto" and old.json["reason"].startswith(f"superseded by {new['id']}")
    # history has both versions; the block injects Berlin only, unless the past is asked for
    [before] = client.get(f"/v1/memory/{old_id}/history", headers=auth(key)).json["data"]
    assert before["valid_until"] is None and before["content"] == "Lives in Manchester."
    block = client.post("/v1/memory/context", json={"query": "Berlin Manchester"}, headers=auth(key)).json
    assert new["id"] in block["memory_ids"] and old_id not in block["memory_ids"]
    past = client.post("/v1/memory/context", json={"query": "Berlin Manchester", "include_invalid": True},
                       headers=auth(key)).json
    assert old_id in past["memory_ids"]
    assert svc.check_consistency().ok


def test_a_fact_that_ends_a_memory_the_user_wrote_is_only_a_suggestion(capture, fake_llm, make_key):
    client, _ = capture
    key = make_key("alice")
    mine = remember(client, key, content="Lives in Manchester.")
    fake_llm.extractions.append({"operations": [
        op(content="Moved to Berlin on 1 May 2023.", occurred_on="2023-05-01", supersedes=mine["id"])]})
    [result] = extract(client, key, messages=[{"role": "user", "content": "I live in Berlin since May."}],
                       occurred_at=SAID_AT)["results"]
    assert result["status"] == "applied" and result["suggestion_id"]
    assert "suggested" in result["detail"]
    unchanged = client.get(f"/v1/memory/{mine['id']}", headers=auth(key)).json
    assert unchanged["valid_until"] is None and unchanged["updated_at"] == mine["updated_at"]

    [suggestion] = client.get("/v1/memory/suggestions", headers=auth(key)).json["data"]
    assert (suggestion["action"], suggestion["memory_id"], suggestion["valid_until"], suggestion["superseded_by"]) == (
        "supersede", mine["id"], day(2023, 5, 1), result["memory"]["id"])
    accepted = client.post(f"/v1/memory/suggestions/{suggestion['id']}/accept", headers=auth(key))
    assert accepted.status_code == 200, accepted.json
    assert accepted.json["valid_until"] == day(2023, 5, 1) and accepted.json["source"] == "api"


def test_an_unusable_date_or_link_changes_nothing(capture, fake_llm, make_key):
    client, _ = capture
    key = make_key("alice")
    for bad in (op(content="Went hiking.", occurred_on="last Saturday"),
                op(content="Went hiking.", expires_on="2023-02-30"),
                op(content="Went hiking.", supersedes="mem_01HZZZZZZZZZZZZZZZZZZZZZZZ")):
        fake_llm.extractions.append({"operations": [op(content="Has a sister."), bad]})
        resp = client.post("/v1/memory/extract", json={"messages": CHAT, "apply": True}, headers=auth(key))
        assert resp.status_code == 502 and resp.json["error"]["code"] == "invalid_extraction", resp.json
    assert client.get("/v1/memory", headers=auth(key)).json["data"] == []


def test_a_captured_chat_turn_is_dated_when_it_was_said(capture, fake_llm, make_key):
    """The capture job remembers when the turn happened: a worker reaching it later still resolves dates
    against the turn's day."""
    client, svc = capture
    key = make_key("alice")
    fake_llm.extractions.append({"operations": [op(content="Has a sister.")]})
    before = int(time.time())
    resp = client.post("/v1/chat/completions", json={"messages": CHAT, "memory": {"capture": True}},
                       headers=auth(key))
    assert resp.status_code == 200, resp.json
    job_id = resp.json["memory"]["capture_job"]
    assert svc.capture_jobs.work("test-worker", block_ms=10) == 1
    job = client.get(f"/v1/memory/capture/jobs/{job_id}", headers=auth(key)).json
    assert job["state"] == "done", job
    [memory] = client.get("/v1/memory", headers=auth(key)).json["data"]
    assert before <= memory["occurred_at"] <= int(time.time())


def test_a_superseded_memory_deleted_meanwhile_leaves_the_new_fact_stored(capture, fake_llm, make_key):
    """A capture job applies operations the model proposed earlier (capture_jobs.py): the memory one supersedes
    may be gone by then; the new fact is still stored, and says so."""
    from memory_api.models import Provenance
    from memory_api.services.capture import Extraction, Operation

    client, svc = capture
    key = make_key("alice")
    old = remember(client, key, content="Lives in Manchester.")
    client.delete(f"/v1/memory/{old['id']}", headers=auth(key))
    extraction = Extraction([Operation("add", "moved", content="Moved to Berlin.", occurred_at=SAID_AT,
                                       supersedes=old["id"], supersedes_version="1")])
    [outcome] = svc.capture.apply("alice", extraction, Provenance(source="auto")).outcomes
    assert outcome.status == "applied" and f"{old['id']} is gone" in outcome.detail
    assert [m["content"] for m in client.get("/v1/memory", headers=auth(key)).json["data"]] == ["Moved to Berlin."]
