"""Tags, scopes, duplicates, quotas, history and stats."""

from __future__ import annotations


from helpers import auth, with_provider


def create(client, key, content, **extra):
    resp = client.post("/v1/memory", json={"content": content, **extra}, headers=auth(key))
    assert resp.status_code == 200, resp.json
    return resp.json


def ids_of(page):
    return [m["id"] for m in page["data"]]


def test_tags_filter_and_counts(client, make_key):
    key = make_key("alice")
    a = create(client, key, "standup at nine", tags=["Work", "daily"])
    b = create(client, key, "gym on mondays", tags=["health", "daily"])
    c = create(client, key, "quarterly review", tags=["work"])
    assert a["tags"] == ["work", "daily"]  # case-folded, order kept
    assert ids_of(client.get("/v1/memory?tag=work", headers=auth(key)).json) == [c["id"], a["id"]]
    assert ids_of(client.get("/v1/memory?tag=daily&tag=WORK", headers=auth(key)).json) == [a["id"]]
    assert ids_of(client.get("/v1/memory?tag=nope", headers=auth(key)).json) == []
    tags = client.get("/v1/memory/tags", headers=auth(key)).json
    assert [(t["tag"], t["count"]) for t in tags["data"]] == [("daily", 2), ("work", 2), ("health", 1)]
    client.patch(f"/v1/memory/{b['id']}", json={"tags": []}, headers=auth(key))
    client.delete(f"/v1/memory/{c['id']}", headers=auth(key))
    tags = client.get("/v1/memory/tags", headers=auth(key)).json
    assert [(t["tag"], t["count"]) for t in tags["data"]] == [("daily", 1), ("work", 1)]


def test_tag_filter_paginates(client, make_key):
    key = make_key("alice")
    tagged = [create(client, key, f"tagged {i}", tags=["t"])["id"] for i in range(7)]
    for i in range(20):
        create(client, key, f"untagged {i}")
    seen, after = [], None
    while True:
        page = client.get("/v1/memory?tag=t&limit=3" + (f"&after={after}" if after else ""), headers=auth(key)).json
        seen += ids_of(page)
        if not page["has_more"]:
            break
        after = page["last_id"]
    assert seen == tagged[::-1]


def test_scope_filters(client, make_key):
    key = make_key("alice")
    g = create(client, key, "I am vegetarian")
    p = create(client, key, "Project Falcon ships in March", scope="falcon")
    q = create(client, key, "Project Osprey is on hold", scope="osprey")
    assert p["scope"] == "falcon" and g["scope"] is None
    assert ids_of(client.get("/v1/memory?scope=falcon", headers=auth(key)).json) == [p["id"]]
    assert ids_of(client.get("/v1/memory?scope=global", headers=auth(key)).json) == [g["id"]]
    assert len(client.get("/v1/memory", headers=auth(key)).json["data"]) == 3
    moved = client.patch(f"/v1/memory/{q['id']}", json={"scope": "falcon"}, headers=auth(key)).json
    assert moved["scope"] == "falcon"
    assert ids_of(client.get("/v1/memory?scope=falcon", headers=auth(key)).json) == [q["id"], p["id"]]
    assert ids_of(client.get("/v1/memory?scope=osprey", headers=auth(key)).json) == []
    bad = client.post("/v1/memory", json={"content": "x", "scope": "global"}, headers=auth(key))
    assert bad.status_code == 400 and bad.json["error"]["param"] == "scope"


def test_scoped_chat_and_context_never_inject_another_scope(settings, make_key, fake_llm):
    from memory_api import create_app

    app = create_app(with_provider(settings, fake_llm))
    client = app.test_client()
    key = make_key("alice")
    create(client, key, "Global: prefers short status answers")
    create(client, key, "Falcon: launch status, March", scope="falcon")
    create(client, key, "Osprey: status, budget frozen", scope="osprey")

    def injected(body):
        resp = client.post("/v1/chat/completions", json=body, headers=auth(key))
        assert resp.status_code == 200, resp.json
        return fake_llm.last_chat()["messages"][0]["content"]

    ask = {"messages": [{"role": "user", "content": "status?"}]}
    text = injected({**ask, "memory": {"scope": "falcon"}})
    assert "Global:" in text and "Falcon:" in text and "Osprey:" not in text
    text = injected(ask)
    assert "Global:" in text and "Falcon:" not in text and "Osprey:" not in text
    conv = client.post("/v1/conversations", json={"scope": "osprey"}, headers=auth(key)).json
    assert conv["scope"] == "osprey"
    text = injected({**ask, "conversation_id": conv["id"]})
    assert "Osprey:" in text and "Global:" in text and "Falcon:" not in text
    mismatch = client.post("/v1/chat/completions", json={**ask, "conversation_id": conv["id"],
                                                         "memory": {"scope": "falcon"}}, headers=auth(key))
    assert mismatch.status_code == 400 and mismatch.json["error"]["code"] == "scope_mismatch"
    ctx = client.post("/v1/memory/context", json={"scope": "falcon"}, headers=auth(key)).json
    assert "Falcon:" in ctx["text"] and "Osprey:" not in ctx["text"] and ctx["omitted_count"] == 0


def test_relevance_ranked_context_puts_the_needed_memory_first(client, make_key):
    key = make_key("alice")
    needed = create(client, key, "The wifi password at the cottage is heron-42")
    for i in range(30):
        create(client, key, f"Unrelated note number {i} about groceries and errands to run this week")
    newest = client.post("/v1/memory/context", json={"max_words": 30}, headers=auth(key)).json
    assert needed["id"] not in newest["memory_ids"]  # newest-first fills the cap with notes
    ranked = client.post("/v1/memory/context", json={"max_words": 30, "query": "what is the wifi password?"},
                         headers=auth(key)).json
    assert ranked["memory_ids"][0] == needed["id"]
    assert ranked["word_count"] <= 30


def test_a_duplicate_create_is_409_naming_the_stored_memory(client, make_key):
    key = make_key("alice")
    first = create(client, key, "I live in Lyon.", tags=["home"])
    again = client.post("/v1/memory", json={"content": "  i LIVE   in lyon.  "}, headers=auth(key))
    assert again.status_code == 409
    error = again.json["error"]
    assert error["code"] == "duplicate_memory" and error["type"] == "conflict_error" and error["param"] == "content"
    assert error["existing_id"] == first["id"] and first["id"] in error["message"]
    assert "ETag" not in again.headers
    other_scope = create(client, key, "I live in Lyon.", scope="travel")
    assert other_scope["id"] != first["id"]
    assert len(client.get("/v1/memory", headers=auth(key)).json["data"]) == 2
    client.delete(f"/v1/memory/{first['id']}", headers=auth(key))
    back = create(client, key, "I live in Lyon.")
    assert back["id"] != first["id"] and "duplicate" not in back


def test_quotas_refuse_with_memory_full_and_never_evict(settings, services, make_key):
    from memory_api import create_app
    from memory_api.services import Services

    limited = settings.replace(quota_memories=3, quota_words=10)
    app = create_app(limited, Services.build(limited))
    client = app.test_client()
    key = make_key("alice")
    kept = [create(client, key, text)["id"] for text in ("one two", "three four", "five")]
    full = client.post("/v1/memory", json={"content": "six"}, headers=auth(key))
    assert full.status_code == 409 and full.json["error"]["code"] == "memory_full"
    assert ids_of(client.get("/v1/memory", headers=auth(key)).json) == kept[::-1]  # nothing evicted
    client.delete(f"/v1/memory/{kept[2]}", headers=auth(key))
    wordy = client.post("/v1/memory", json={"content": "a b c d e f g"}, headers=auth(key))  # 4 + 7 > 10
    assert wordy.status_code == 409 and wordy.json["error"]["code"] == "memory_full"
    grow = client.patch(f"/v1/memory/{kept[0]}", json={"content": "one two three four five six seven 8 9"},
                        headers=auth(key))
    assert grow.status_code == 409  # 2 + 9 words > 10
    batch = client.post("/v1/memory/batch", json={"memories": [{"content": "x"}, {"content": "y"}]},
                        headers=auth(key))
    assert batch.status_code == 409 and len(client.get("/v1/memory", headers=auth(key)).json["data"]) == 2
    assert client.post("/v1/memory", json={"content": "ok"}, headers=auth(key)).status_code == 200
    app.extensions["memory_api"].close()


def test_history_keeps_previous_versions_newest_first(settings, services, make_key):
    from memory_api import create_app
    from memory_api.services import Services

    shallow = settings.replace(history_depth=2)
    app = create_app(shallow, Services.build(shallow))
    client = app.test_client()
    key = make_key("alice")
    mem = create(client, key, "v1", tags=["a"])
    for text in ("v2", "v3", "v4"):
        client.patch(f"/v1/memory/{mem['id']}", json={"content": text}, headers=auth(key))
    history = client.get(f"/v1/memory/{mem['id']}/history", headers=auth(key)).json
    assert [(v["content"], v["revision"]) for v in history["data"]] == [("v3", 3), ("v2", 2)]
    assert history["data"][0]["tags"] == ["a"] and history["data"][0]["object"] == "memory.version"
    client.delete(f"/v1/memory/{mem['id']}", headers=auth(key))
    assert client.get(f"/v1/memory/{mem['id']}/history", headers=auth(key)).status_code == 404
    app.extensions["memory_api"].close()


def test_stats(client, make_key):
    key = make_key("alice")
    empty = client.get("/v1/memory/stats", headers=auth(key)).json
    assert empty == {"object": "memory.stats", "count": 0, "words": 0, "tokens": 0, "tags": 0, "scopes": 0,
                     "capture_tokens": 0, "oldest": None, "newest": None}
    a = create(client, key, "one two three", tags=["x"])
    b = create(client, key, "four five", tags=["x", "y"], scope="p")
    stats = client.get("/v1/memory/stats", headers=auth(key)).json
    assert (stats["count"], stats["words"], stats["tags"], stats["scopes"]) == (2, 5, 2, 1)
    assert stats["tokens"] == a["token_count"] + b["token_count"]
    assert stats["oldest"]["id"] == a["id"] and stats["newest"]["id"] == b["id"]


def test_a_shared_content_stays_a_duplicate_after_its_first_holder_is_deleted(client, make_key, services):
    """Updates may give two memories one content (only creates refuse duplicates): deleting the first must
    leave the other in the duplicate map, so a create of that content is still refused and check is clean."""
    key = make_key("alice")
    first = create(client, key, "updated")
    second = create(client, key, "something else")
    assert client.patch(f"/v1/memory/{second['id']}", json={"content": "updated"}, headers=auth(key)).status_code == 200
    assert client.delete(f"/v1/memory/{first['id']}", headers=auth(key)).status_code == 200
    assert services.check_consistency("alice").ok, services.check_consistency("alice").problems
    again = client.post("/v1/memory", json={"content": "Updated"}, headers=auth(key))
    assert again.status_code == 409 and again.json["error"]["existing_id"] == second["id"]
    client.delete(f"/v1/memory/{second['id']}", headers=auth(key))
    assert create(client, key, "updated")["content"] == "updated"  # no holder left: a create is new
    assert services.check_consistency("alice").ok
