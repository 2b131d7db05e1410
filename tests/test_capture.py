"""Memories proposed by a model from a conversation: POST /v1/memory/extract and suggestions (issue 13).

The provider stand-in answers extraction requests with scripted decisions (fake_llm.extractions)."""

from __future__ import annotations

import json
import time

import pytest

from helpers import auth, with_provider
from memory_api import create_app
from memory_api.models import Provenance
from memory_api.services import Services

CHAT = [{"role": "user", "content": "I stopped eating meat last month, I'm vegetarian now."},
        {"role": "assistant", "content": "Noted! Any favourite dishes?"}]


@pytest.fixture
def capture_app(settings, fake_llm):
    def make(**changes):
        svc = Services.build(with_provider(settings, fake_llm, **changes))
        made.append(svc)
        return create_app(svc.settings, svc).test_client(), svc

    made: list[Services] = []
    yield make
    for svc in made:
        svc.close()


def extract(client, key, apply=False, messages=CHAT, **extra):
    return client.post("/v1/memory/extract", json={"messages": messages, "apply": apply, **extra}, headers=auth(key))


def test_a_preference_stated_in_chat_becomes_a_memory(capture_app, fake_llm, make_key):
    client, svc = capture_app()
    key = make_key("alice")
    fake_llm.extractions.append({"operations": [
        {"action": "add", "memory_id": None, "content": "Is vegetarian.", "reason": "said they stopped eating meat"},
        {"action": "none", "memory_id": None, "content": None, "reason": "small talk"}]})
    proposed = extract(client, key)
    assert proposed.status_code == 200, proposed.json
    assert proposed.json["applied"] is False and proposed.json["results"] is None
    [proposal] = proposed.json["operations"]
    assert proposal == {"action": "add", "memory_id": None, "content": "Is vegetarian.",
                        "reason": "said they stopped eating meat", "occurred_at": proposal["occurred_at"],
                        "expires_at": None, "supersedes": None}
    assert abs(proposal["occurred_at"] - time.time()) < 60  # no date of its own: when it was said
    assert client.get("/v1/memory", headers=auth(key)).json["data"] == []  # proposing writes nothing
    # The model got the conversation, the schema, and the capture model.
    sent = fake_llm.extraction_requests[-1]
    assert "vegetarian now" in sent["messages"][1]["content"]
    assert sent["response_format"]["json_schema"]["name"] == "memory_operations"
    assert sent["model"] == svc.settings.effective_capture_model

    fake_llm.extractions.append({"operations": [
        {"action": "add", "memory_id": None, "content": "Is vegetarian.", "reason": "said they stopped eating meat"}]})
    applied = extract(client, key, apply=True).json
    [result] = applied["results"]
    assert result["status"] == "applied"
    memory = result["memory"]
    assert (memory["content"], memory["source"], memory["reason"]) == (
        "Is vegetarian.", "auto", "said they stopped eating meat")
    feed = client.get("/v1/memory/events", headers=auth(key)).json["data"]
    assert (feed[0]["type"], feed[0]["source"], feed[0]["reason"]) == (
        "memory.created", "auto", "said they stopped eating meat")


def test_the_model_is_shown_only_the_users_own_similar_memories(capture_app, fake_llm, make_key):
    client, svc = capture_app()
    alice, bob = make_key("alice"), make_key("bob")
    mine = client.post("/v1/memory", json={"content": "I eat meat every day"}, headers=auth(alice)).json
    theirs = client.post("/v1/memory", json={"content": "I eat meat on Sundays"}, headers=auth(bob)).json
    extract(client, alice)
    shown = fake_llm.extraction_requests[-1]["messages"][1]["content"]
    assert mine["id"] in shown and theirs["id"] not in shown
    # A decision naming a memory the model was not shown (here: another user's) changes nothing.
    fake_llm.extractions.append({"operations": [
        {"action": "delete", "memory_id": theirs["id"], "content": None, "reason": "contradicted"}]})
    refused = extract(client, alice, apply=True)
    assert refused.status_code == 502 and refused.json["error"]["code"] == "invalid_extraction"
    assert client.get(f"/v1/memory/{theirs['id']}", headers=auth(bob)).status_code == 200


def test_a_contradicted_auto_memory_is_updated_and_history_says_why(capture_app, fake_llm, make_key):
    client, svc = capture_app()
    key = make_key("alice")
    auto = svc.memories.create("alice", "Eats meat.", by=Provenance(source="auto", reason="mentioned steak")).memory
    fake_llm.extractions.append({"operations": [
        {"action": "update", "memory_id": auto.id, "content": "Is vegetarian (stopped eating meat).",
         "reason": "the user said they stopped eating meat"}]})
    [result] = extract(client, key, apply=True).json["results"]
    assert result["status"] == "applied"
    assert result["memory"]["content"] == "Is vegetarian (stopped eating meat)."
    history = client.get(f"/v1/memory/{auto.id}/history", headers=auth(key)).json["data"]
    assert [(v["content"], v["reason"]) for v in history] == [("Eats meat.", "mentioned steak")]
    current = client.get(f"/v1/memory/{auto.id}", headers=auth(key)).json
    assert current["reason"] == "the user said they stopped eating meat"
    # ... and a delete of an automatic memory is applied too; revert brings it back.
    fake_llm.extractions.append({"operations": [
        {"action": "delete", "memory_id": auto.id, "content": None, "reason": "user withdrew it"}]})
    [deleted] = extract(client, key, apply=True).json["results"]
    assert deleted["status"] == "applied"
    assert client.get(f"/v1/memory/{auto.id}", headers=auth(key)).status_code == 404


def test_a_memory_the_user_wrote_is_not_overwritten_a_suggestion_appears(capture_app, fake_llm, make_key):
    client, svc = capture_app()
    key = make_key("alice")
    mine = client.post("/v1/memory", json={"content": "I eat meat"}, headers=auth(key)).json
    fake_llm.extractions.append({"operations": [
        {"action": "update", "memory_id": mine["id"], "content": "Is vegetarian.", "reason": "stopped eating meat"}]})
    [result] = extract(client, key, apply=True).json["results"]
    assert result["status"] == "suggested" and result["suggestion_id"].startswith("sug_")
    assert client.get(f"/v1/memory/{mine['id']}", headers=auth(key)).json["content"] == "I eat meat"
    [suggestion] = client.get("/v1/memory/suggestions", headers=auth(key)).json["data"]
    assert (suggestion["action"], suggestion["memory_id"], suggestion["content"], suggestion["revision"]) == (
        "update", mine["id"], "Is vegetarian.", 1)
    accepted = client.post(f"/v1/memory/suggestions/{suggestion['id']}/accept", headers=auth(key))
    assert accepted.status_code == 200, accepted.json
    assert (accepted.json["content"], accepted.json["source"]) == ("Is vegetarian.", "api")
    assert accepted.json["reason"] == "accepted suggestion: stopped eating meat"
    assert client.get("/v1/memory/suggestions", headers=auth(key)).json["data"] == []
    again = client.post(f"/v1/memory/suggestions/{suggestion['id']}/accept", headers=auth(key))
    assert again.status_code == 404 and again.json["error"]["code"] == "suggestion_not_found"


def test_a_suggestion_for_a_version_that_changed_applies_nothing(capture_app, fake_llm, make_key):
    client, svc = capture_app()
    key = make_key("alice")
    mine = client.post("/v1/memory", json={"content": "I live in Porto"}, headers=auth(key)).json
    moved = [{"role": "user", "content": "I don't live in Porto any more."}]
    fake_llm.extractions.append({"operations": [
        {"action": "delete", "memory_id": mine["id"], "content": None, "reason": "said they moved"}]})
    [result] = extract(client, key, apply=True, messages=moved).json["results"]
    client.patch(f"/v1/memory/{mine['id']}", json={"content": "I live in Lisbon"}, headers=auth(key))
    stale = client.post(f"/v1/memory/suggestions/{result['suggestion_id']}/accept", headers=auth(key))
    assert stale.status_code == 412
    assert client.get(f"/v1/memory/{mine['id']}", headers=auth(key)).json["content"] == "I live in Lisbon"
    # Dismissing one leaves the memory as the user wrote it.
    fake_llm.extractions.append({"operations": [
        {"action": "delete", "memory_id": mine["id"], "content": None, "reason": "said they moved"}]})
    [result] = extract(client, key, apply=True, messages=moved).json["results"]
    dismissed = client.post(f"/v1/memory/suggestions/{result['suggestion_id']}/dismiss", headers=auth(key))
    assert dismissed.json == {"id": result["suggestion_id"], "object": "memory.suggestion.dismissed",
                              "dismissed": True}
    assert client.get(f"/v1/memory/{mine['id']}", headers=auth(key)).status_code == 200


def test_the_server_may_let_capture_edit_user_memories(capture_app, fake_llm, make_key):
    client, svc = capture_app(capture_may_edit_user_memories=True)
    key = make_key("alice")
    mine = client.post("/v1/memory", json={"content": "I eat meat"}, headers=auth(key)).json
    fake_llm.extractions.append({"operations": [
        {"action": "update", "memory_id": mine["id"], "content": "Is vegetarian.", "reason": "stopped eating meat"}]})
    [result] = extract(client, key, apply=True).json["results"]
    assert result["status"] == "applied" and result["memory"]["source"] == "auto"


@pytest.mark.parametrize("answer", [
    "this is not JSON",
    {"operations": "add everything"},
    {"operations": [{"action": "remember", "memory_id": None, "content": "x", "reason": "r"}]},
    {"operations": [{"action": "add", "memory_id": None, "content": "  ", "reason": "blank"}]},
    {"operations": [{"action": "add", "memory_id": None, "content": "ok", "reason": ""}]},
    {"operations": [{"action": "add", "memory_id": None, "content": "Is vegetarian.", "reason": "fine"},
                    {"action": "update", "memory_id": "mem_01JDQ3R8X0V2W9Y7Z6A5B4C3D2", "content": "x",
                     "reason": "unknown id"}]},
])
def test_a_malformed_answer_changes_nothing(capture_app, fake_llm, make_key, answer):
    client, svc = capture_app()
    key = make_key("alice")
    fake_llm.extractions.append(answer)
    resp = extract(client, key, apply=True)
    assert resp.status_code == 502 and resp.json["error"]["code"] == "invalid_extraction", resp.json
    assert client.get("/v1/memory", headers=auth(key)).json["data"] == []
    assert client.get("/v1/memory/events", headers=auth(key)).json["data"] == []


def test_duplicates_and_a_full_quota_are_skipped_not_errors(capture_app, fake_llm, make_key):
    client, svc = capture_app(quota_memories=2)
    key = make_key("alice")
    client.post("/v1/memory", json={"content": "Is vegetarian."}, headers=auth(key))
    fake_llm.extractions.append({"operations": [
        {"action": "add", "memory_id": None, "content": "is VEGETARIAN.", "reason": "again"},
        {"action": "add", "memory_id": None, "content": "Has a dog named Biscuit.", "reason": "mentioned"},
        {"action": "add", "memory_id": None, "content": "Lives in Lisbon.", "reason": "mentioned"}]})
    results = extract(client, key, apply=True).json["results"]
    assert [(r["status"], (r["detail"] or "").split(":")[0]) for r in results] == [
        ("skipped", "duplicate_memory"), ("applied", ""), ("skipped", "memory_full")]


def test_bad_requests_and_no_provider(client, capture_app, make_key):
    key = make_key("alice")
    no_provider = client.post("/v1/memory/extract", json={"messages": CHAT}, headers=auth(key))
    assert no_provider.status_code == 503 and no_provider.json["error"]["code"] == "provider_not_configured"
    app_client, _ = capture_app()
    for body, param in (({"messages": []}, "messages"), ({"messages": [{"role": "robot", "content": "x"}]},
                                                          "messages[0].role"),
                        ({"messages": CHAT, "apply": "yes"}, "apply"), ({}, "messages")):
        resp = app_client.post("/v1/memory/extract", json=body, headers=auth(key))
        assert resp.status_code == 400 and resp.json["error"]["param"] == param, (body, resp.json)


def test_the_mcp_tool_extracts_and_applies(capture_app, fake_llm, make_key):
    import anyio
    from mcp import Client

    from memory_api.mcp.server import build_mcp_server

    client, svc = capture_app()
    key = make_key("alice")
    server = build_mcp_server(svc, user="alice")
    fake_llm.extractions.append({"operations": [
        {"action": "add", "memory_id": None, "content": "Is vegetarian.", "reason": "stopped eating meat"}]})

    async def scenario():
        async with Client(server) as mcp:
            result = await mcp.call_tool("extract_memories", {"messages": CHAT, "apply": True})
            assert not result.is_error, result.content
            return result.structured_content

    out = anyio.run(scenario)
    assert out["applied"] is True
    assert [(o["action"], o["status"]) for o in out["operations"]] == [("add", "applied")]
    [memory] = client.get("/v1/memory", headers=auth(key)).json["data"]
    assert (memory["content"], memory["source"]) == ("Is vegetarian.", "auto")


@pytest.mark.parametrize("reason", ["x\ud800", "evil\x00\x1b[31mred", "   "])
def test_a_reason_that_is_not_clean_text_is_a_malformed_answer(capture_app, fake_llm, make_key, reason):
    client, svc = capture_app()
    key = make_key("alice")
    fake_llm.extractions.append(json.dumps({"operations": [
        {"action": "add", "memory_id": None, "content": "Is vegetarian.", "reason": reason}]}))
    resp = extract(client, key, apply=True)
    assert resp.status_code == 502 and resp.json["error"]["code"] == "invalid_extraction", resp.json
    assert client.get("/v1/memory", headers=auth(key)).json["data"] == []


def test_content_parts_without_text_are_read_as_nothing(capture_app, fake_llm, make_key):
    client, svc = capture_app()
    image = {"type": "image_url", "image_url": {"url": "data:image/png;base64,AA=="}}
    messages = [{"role": "user", "content": [image, {"type": "text", "text": "I'm vegan."}]}]
    resp = extract(client, make_key("alice"), messages=messages)
    assert resp.status_code == 200, resp.json
    assert '{"role": "user", "content": "I\'m vegan."}' in fake_llm.extraction_requests[-1]["messages"][1]["content"]
    # A text that is not a string is refused at the door, as in a chat request (issue 24 item 3).
    messages = [{"role": "user", "content": [{"type": "text", "text": 5}, {"type": "text", "text": "I'm vegan."}]}]
    resp = extract(client, make_key("alice"), messages=messages)
    assert resp.status_code == 400 and resp.json["error"]["param"] == "messages[0].content[0].text", resp.json


def test_suggestions_are_one_per_proposal_and_go_with_their_memory(capture_app, fake_llm, make_key):
    client, svc = capture_app()
    key = make_key("alice")
    mine = client.post("/v1/memory", json={"content": "I eat meat"}, headers=auth(key)).json
    proposal = {"operations": [{"action": "update", "memory_id": mine["id"], "content": "Is vegetarian.",
                                "reason": "stopped eating meat"}]}
    for _ in range(3):
        fake_llm.extractions.append(proposal)
        assert extract(client, key, apply=True).json["results"][0]["status"] == "suggested"
    assert len(client.get("/v1/memory/suggestions", headers=auth(key)).json["data"]) == 1
    client.delete(f"/v1/memory/{mine['id']}", headers=auth(key))
    assert client.get("/v1/memory/suggestions", headers=auth(key)).json["data"] == []


def test_a_failed_accept_keeps_the_suggestion(capture_app, fake_llm, make_key):
    client, svc = capture_app(quota_words=5)
    key = make_key("alice")
    mine = client.post("/v1/memory", json={"content": "I eat meat"}, headers=auth(key)).json
    fake_llm.extractions.append({"operations": [{"action": "update", "memory_id": mine["id"],
                                                 "content": "Has been a strict vegetarian since last spring.",
                                                 "reason": "stopped eating meat"}]})
    [result] = extract(client, key, apply=True).json["results"]
    full = client.post(f"/v1/memory/suggestions/{result['suggestion_id']}/accept", headers=auth(key))
    assert full.status_code == 409 and full.json["error"]["code"] == "memory_full"
    assert [s["id"] for s in client.get("/v1/memory/suggestions", headers=auth(key)).json["data"]] == [
        result["suggestion_id"]]
