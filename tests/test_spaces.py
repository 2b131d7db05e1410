"""Shared spaces over REST: the space and member endpoints, and each access rule, against real Redis."""

from __future__ import annotations

import json

import pytest

from helpers import auth


@pytest.fixture
def people(make_key):
    return {name: auth(make_key(name)) for name in ("alice", "bob", "carol", "mallory")}


def new_space(client, who, name="Team") -> str:
    resp = client.post("/v1/spaces", json={"name": name}, headers=who)
    assert resp.status_code == 200, resp.json
    return resp.json["id"]


def add(client, space, admin, user, role="reader", **extra):
    resp = client.post(f"/v1/spaces/{space}/members", json={"user": user, "role": role, **extra}, headers=admin)
    assert resp.status_code == 200, resp.json
    return resp.json


def error_code(resp):
    return resp.json["error"]["code"]


def test_a_creator_is_admin_and_the_space_is_listed_with_their_role(client, people):
    resp = client.post("/v1/spaces", json={"name": "Support team"}, headers=people["alice"])
    assert resp.status_code == 200
    space = resp.json
    assert space["id"].startswith("space_") and len(space["id"]) == 32
    assert space["object"] == "space" and space["name"] == "Support team"
    assert space["role"] == "admin" and space["inject"] is True and space["created_by"] == "alice"
    listed = client.get("/v1/spaces", headers=people["alice"]).json
    assert [s["id"] for s in listed["data"]] == [space["id"]]
    assert client.get("/v1/spaces", headers=people["bob"]).json["data"] == []
    assert client.get(f"/v1/spaces/{space['id']}", headers=people["alice"]).json["name"] == "Support team"


def test_memories_in_a_space_say_space_and_author_and_reach_its_members_only(client, people):
    space = new_space(client, people["alice"])
    add(client, space, people["alice"], "bob", "writer")
    add(client, space, people["alice"], "carol", "reader")
    resp = client.post("/v1/memory", json={"content": "The customer prefers email", "space": space},
                       headers=people["bob"])
    assert resp.status_code == 200, resp.json
    memory = resp.json
    assert memory["space"] == space and memory["author"] == "bob"
    own = client.post("/v1/memory", json={"content": "I like tea"}, headers=people["alice"]).json
    assert own["space"] is None and own["author"] == "alice"

    for reader in ("alice", "bob", "carol"):
        listed = client.get(f"/v1/memory?space={space}", headers=people[reader]).json["data"]
        assert [m["id"] for m in listed] == [memory["id"]]
        # by id, without naming the space: found among the reader's spaces
        got = client.get(f"/v1/memory/{memory['id']}", headers=people[reader])
        assert got.status_code == 200 and got.json["content"] == "The customer prefers email"
        found = client.get(f"/v1/memory/search?query=email&space={space}", headers=people[reader]).json["data"]
        assert [m["id"] for m in found] == [memory["id"]]
    # The user's own list never mixes in a space's memories
    assert [m["id"] for m in client.get("/v1/memory", headers=people["alice"]).json["data"]] == [own["id"]]
    assert client.get("/v1/memory", headers=people["bob"]).json["data"] == []

    # A non-member: the space, its memory, its search, its feed, its stats: all 404, as another user's
    for path in (f"/v1/spaces/{space}", f"/v1/memory?space={space}", f"/v1/memory/search?query=email&space={space}",
                 f"/v1/memory/events?space={space}", f"/v1/memory/stats?space={space}",
                 f"/v1/memory/tags?space={space}", f"/v1/spaces/{space}/members", f"/v1/memory/export?space={space}",
                 f"/v1/memory/{memory['id']}?space={space}"):
        resp = client.get(path, headers=people["mallory"])
        assert resp.status_code == 404, (path, resp.status_code, resp.json)
        assert "email" not in resp.get_data(as_text=True)
    resp = client.get(f"/v1/memory/{memory['id']}", headers=people["mallory"])
    assert resp.status_code == 404 and error_code(resp) == "memory_not_found"
    for method, path, body in (("patch", f"/v1/memory/{memory['id']}", {"content": "x"}),
                               ("delete", f"/v1/memory/{memory['id']}", None),
                               ("post", "/v1/memory", {"content": "sneaky", "space": space}),
                               ("post", f"/v1/memory/{memory['id']}/revert", {"revision": 1}),
                               ("get", f"/v1/memory/{memory['id']}/history", None)):
        resp = getattr(client, method)(path, json=body, headers=people["mallory"])
        assert resp.status_code == 404, (method, path, resp.json)
    assert client.get(f"/v1/memory/{memory['id']}", headers=people["alice"]).json["content"] == \
        "The customer prefers email"


def test_a_reader_cannot_write_and_a_writer_cannot_manage_members(client, people):
    space = new_space(client, people["alice"])
    add(client, space, people["alice"], "bob", "writer")
    add(client, space, people["alice"], "carol", "reader")
    memory = client.post("/v1/memory", json={"content": "Standup is at 9", "space": space},
                         headers=people["bob"]).json
    for method, path, body in (("post", "/v1/memory", {"content": "no", "space": space}),
                               ("patch", f"/v1/memory/{memory['id']}", {"content": "Standup is at 10"}),
                               ("delete", f"/v1/memory/{memory['id']}", None),
                               ("post", "/v1/memory/batch", {"memories": [{"content": "no"}], "space": space}),
                               ("post", "/v1/memory/batch_delete", {"ids": [memory["id"]], "space": space})):
        resp = getattr(client, method)(path, json=body, headers=people["carol"])
        assert resp.status_code == 403, (method, path, resp.json)
        assert error_code(resp) == "insufficient_role" and resp.json["error"]["param"] == "space"
    assert client.get(f"/v1/memory/{memory['id']}", headers=people["carol"]).json["content"] == "Standup is at 9"

    # the writer writes...
    resp = client.patch(f"/v1/memory/{memory['id']}", json={"content": "Standup is at 10"}, headers=people["bob"])
    assert resp.status_code == 200 and resp.json["author"] == "bob"
    # ...but manages nobody
    for method, path, body in (("post", f"/v1/spaces/{space}/members", {"user": "mallory"}),
                               ("patch", f"/v1/spaces/{space}/members/carol", {"role": "writer"}),
                               ("delete", f"/v1/spaces/{space}/members/carol", None),
                               ("patch", f"/v1/spaces/{space}", {"name": "Mine now"}),
                               ("delete", f"/v1/spaces/{space}?confirm=true", None),
                               ("delete", f"/v1/memory?confirm=true&space={space}", None),
                               ("get", f"/v1/memory/export?space={space}", None)):
        resp = getattr(client, method)(path, json=body, headers=people["bob"])
        assert resp.status_code == 403, (method, path, resp.json)
    members = client.get(f"/v1/spaces/{space}/members", headers=people["bob"]).json["data"]
    assert {(m["user"], m["role"]) for m in members} == {("alice", "admin"), ("bob", "writer"), ("carol", "reader")}


def test_removal_takes_effect_on_the_next_request(client, people):
    space = new_space(client, people["alice"])
    add(client, space, people["alice"], "bob", "writer")
    memory = client.post("/v1/memory", json={"content": "Door code is 1234", "space": space},
                         headers=people["alice"]).json
    assert client.get(f"/v1/memory/{memory['id']}", headers=people["bob"]).status_code == 200
    resp = client.delete(f"/v1/spaces/{space}/members/bob", headers=people["alice"])
    assert resp.status_code == 200 and resp.json["deleted"] is True
    assert client.get(f"/v1/memory/{memory['id']}", headers=people["bob"]).status_code == 404
    assert client.get(f"/v1/memory?space={space}", headers=people["bob"]).status_code == 404
    assert client.get("/v1/spaces", headers=people["bob"]).json["data"] == []
    resp = client.post("/v1/memory", json={"content": "still here?", "space": space}, headers=people["bob"])
    assert resp.status_code == 404


def test_a_member_may_leave_but_the_last_admin_must_name_another(client, people):
    space = new_space(client, people["alice"])
    add(client, space, people["alice"], "bob", "reader")
    resp = client.delete(f"/v1/spaces/{space}/members/alice", headers=people["alice"])
    assert resp.status_code == 409 and error_code(resp) == "last_admin"
    resp = client.patch(f"/v1/spaces/{space}/members/alice", json={"role": "writer"}, headers=people["alice"])
    assert resp.status_code == 409 and error_code(resp) == "last_admin"
    # bob leaves by himself
    assert client.delete(f"/v1/spaces/{space}/members/bob", headers=people["bob"]).status_code == 200
    add(client, space, people["alice"], "bob", "admin")
    assert client.delete(f"/v1/spaces/{space}/members/alice", headers=people["alice"]).status_code == 200
    assert client.get(f"/v1/spaces/{space}", headers=people["alice"]).status_code == 404
    assert client.get(f"/v1/spaces/{space}", headers=people["bob"]).json["role"] == "admin"


def test_member_rules_answer_with_clear_codes(client, people):
    space = new_space(client, people["alice"])
    add(client, space, people["alice"], "bob")
    resp = client.post(f"/v1/spaces/{space}/members", json={"user": "bob"}, headers=people["alice"])
    assert resp.status_code == 409 and error_code(resp) == "member_exists"
    resp = client.post(f"/v1/spaces/{space}/members", json={"user": "{bad}"}, headers=people["alice"])
    assert resp.status_code == 400 and resp.json["error"]["param"] == "user"
    resp = client.post(f"/v1/spaces/{space}/members", json={"user": "carol", "role": "owner"}, headers=people["alice"])
    assert resp.status_code == 400 and resp.json["error"]["param"] == "role"
    resp = client.patch(f"/v1/spaces/{space}/members/carol", json={"role": "writer"}, headers=people["alice"])
    assert resp.status_code == 404 and error_code(resp) == "member_not_found"
    resp = client.post("/v1/spaces", json={"name": "  "}, headers=people["alice"])
    assert resp.status_code == 400 and resp.json["error"]["param"] == "name"
    resp = client.post("/v1/spaces", json={"name": "two\nlines"}, headers=people["alice"])
    assert resp.status_code == 400 and resp.json["error"]["param"] == "name"
    resp = client.get("/v1/spaces/space_nope", headers=people["alice"])
    assert resp.status_code in (400, 404)
    # a member switches their own inject off, but may not change their role
    resp = client.patch(f"/v1/spaces/{space}/members/bob", json={"inject": False}, headers=people["bob"])
    assert resp.status_code == 200 and resp.json["inject"] is False and resp.json["role"] == "reader"
    resp = client.patch(f"/v1/spaces/{space}/members/bob", json={"role": "admin"}, headers=people["bob"])
    assert resp.status_code == 403


def test_deleting_a_space_needs_confirm_deletes_its_memories_and_tells_every_admin(client, people, redis_client):
    space = new_space(client, people["alice"], "Family")
    add(client, space, people["alice"], "bob", "admin")
    add(client, space, people["alice"], "carol", "writer")
    memory = client.post("/v1/memory", json={"content": "Grandma's birthday is May 3", "space": space},
                         headers=people["carol"]).json
    resp = client.delete(f"/v1/spaces/{space}", headers=people["bob"])
    assert resp.status_code == 400 and resp.json["error"]["param"] == "confirm"
    resp = client.delete(f"/v1/spaces/{space}?confirm=true", headers=people["bob"])
    assert resp.status_code == 200 and resp.json == {"id": space, "object": "space.deleted", "deleted": True,
                                                     "memories_deleted": 1}
    for who in ("alice", "bob", "carol"):
        assert client.get(f"/v1/spaces/{space}", headers=people[who]).status_code == 404
        assert client.get(f"/v1/memory/{memory['id']}", headers=people[who]).status_code == 404
        assert client.get("/v1/spaces", headers=people[who]).json["data"] == []
    # nothing of the space is left in Redis
    assert [k for k in redis_client.scan_iter(match=f"*{space}*")] == []
    for admin in ("alice", "bob"):
        feed = client.get("/v1/memory/events", headers=people[admin]).json["data"]
        assert feed[0]["type"] == "space.deleted" and feed[0]["space"] == space and feed[0]["author"] == "bob"
    assert all(e["type"] != "space.deleted" for e in client.get("/v1/memory/events", headers=people["carol"]).json["data"])


def test_a_space_has_its_own_feed_with_authors(client, people):
    space = new_space(client, people["alice"])
    add(client, space, people["alice"], "bob", "writer")
    client.post("/v1/memory", json={"content": "Deploys on Tuesdays", "space": space}, headers=people["bob"])
    feed = client.get(f"/v1/memory/events?space={space}", headers=people["alice"]).json["data"]
    assert [(e["type"], e["author"]) for e in feed] == [("memory.created", "bob")]
    assert client.get("/v1/memory/events", headers=people["bob"]).json["data"] == []


def test_limits_on_spaces_per_user_and_members_per_space(settings, make_key):
    import dataclasses

    from memory_api import create_app
    from memory_api.services import Services

    services = Services.build(dataclasses.replace(settings, max_spaces_per_user=2, max_space_members=2))
    try:
        client = create_app(settings, services).test_client()
        alice = auth(services.keys.create(user="alice")[0])
        first = client.post("/v1/spaces", json={"name": "one"}, headers=alice).json["id"]
        client.post("/v1/spaces", json={"name": "two"}, headers=alice)
        resp = client.post("/v1/spaces", json={"name": "three"}, headers=alice)
        assert resp.status_code == 409 and error_code(resp) == "too_many_spaces"
        assert client.post(f"/v1/spaces/{first}/members", json={"user": "bob"}, headers=alice).status_code == 200
        resp = client.post(f"/v1/spaces/{first}/members", json={"user": "carol"}, headers=alice)
        assert resp.status_code == 409 and error_code(resp) == "space_full"
        assert [m["user"] for m in client.get(f"/v1/spaces/{first}/members", headers=alice).json["data"]] == \
            ["alice", "bob"]
    finally:
        services.close()


def test_a_service_key_manages_spaces_for_the_users_it_acts_for(client, make_key):
    backend = make_key(service="backend")
    as_alice = auth(backend, **{"X-Memory-User": "alice"})
    as_bob = auth(backend, **{"X-Memory-User": "bob"})
    space = new_space(client, as_alice)
    add(client, space, as_alice, "bob", "writer")
    assert client.post("/v1/memory", json={"content": "Shared fact", "space": space}, headers=as_bob).status_code == 200
    as_eve = auth(backend, **{"X-Memory-User": "eve"})
    assert client.get(f"/v1/memory?space={space}", headers=as_eve).status_code == 404


def test_check_and_reindex_cover_spaces(client, people, services):
    space = new_space(client, people["alice"])
    for i in range(3):
        client.post("/v1/memory", json={"content": f"shared fact {i}", "space": space}, headers=people["alice"])
    report = services.check_consistency()
    assert report.ok and report.memories == 3, report.problems
    reindexer = services.reindexer()
    owners = reindexer.users()
    assert f"#{space}" in owners
    assert reindexer.run(owners).seen == 3


def test_an_admin_exports_a_space_and_imports_it_into_another_as_its_author(client, people):
    first = new_space(client, people["alice"], "Old team")
    add(client, first, people["alice"], "bob", "writer")
    written = client.post("/v1/memory", json={"content": "Ship on Fridays", "space": first},
                          headers=people["bob"]).json
    exported = client.get(f"/v1/memory/export?space={first}", headers=people["alice"])
    assert exported.status_code == 200 and b"Ship on Fridays" in exported.data
    header = json.loads(exported.data.splitlines()[0])
    assert header["space"] == first and "user" not in header
    second = new_space(client, people["carol"], "New team")
    resp = client.post(f"/v1/memory/import?space={second}", data=exported.data,
                       content_type="application/x-ndjson", headers=people["carol"])
    assert resp.status_code == 200 and resp.json["created"] == 1, resp.json
    [copy] = client.get(f"/v1/memory?space={second}", headers=people["carol"]).json["data"]
    assert copy["id"] == written["id"] and copy["space"] == second and copy["author"] == "carol"
    # bob is not in the second space: the same id there stays out of his reach
    assert client.get(f"/v1/memory/{copy['id']}?space={second}", headers=people["bob"]).status_code == 404
    assert client.get(f"/v1/memory/{copy['id']}", headers=people["bob"]).json["space"] == first


def test_an_idempotency_key_of_a_space_write_is_the_writers_own(client, people):
    space = new_space(client, people["alice"])
    add(client, space, people["alice"], "bob", "writer")
    first = client.post("/v1/memory", json={"content": "Shared secret plan", "space": space},
                        headers={**people["bob"], "Idempotency-Key": "same-key"})
    again = client.post("/v1/memory", json={"content": "Shared secret plan", "space": space},
                        headers={**people["bob"], "Idempotency-Key": "same-key"})
    assert first.status_code == again.status_code == 200 and first.json["id"] == again.json["id"]
    other = client.post("/v1/memory", json={"content": "My own note"},
                        headers={**people["mallory"], "Idempotency-Key": "same-key"})
    assert other.status_code == 200 and other.json["id"] != first.json["id"]
    assert "secret" not in other.get_data(as_text=True)


def test_a_non_member_cannot_tell_a_space_exists(client, people):
    space = new_space(client, people["alice"])
    missing = "space_01JD0000000000000000000000"
    for target in (space, missing):
        resp = client.get(f"/v1/spaces/{target}", headers=people["mallory"])
        assert resp.status_code == 404
        body = resp.json["error"]
        assert body["code"] == "space_not_found" and body["message"] == f"No space found with id '{target}'."


def test_a_membership_write_cut_short_between_its_two_keys_grants_nothing(client, people, services, redis_client):
    """A process killed between writing a user's index of spaces and the space's members (either order)
    leaves an index entry the members do not confirm: it grants nothing, and the next listing drops it."""
    from memory_api.store import keys as key_names

    space = new_space(client, people["alice"])
    memory = client.post("/v1/memory", json={"content": "Vault code 0000", "space": space},
                         headers=people["alice"]).json
    # mallory's index names the space (as if an add had died before the members were written)
    redis_client.hset(key_names.user_spaces("mallory"), space, 1)
    assert client.get("/v1/spaces", headers=people["mallory"]).json["data"] == []
    assert not redis_client.hexists(key_names.user_spaces("mallory"), space)
    redis_client.hset(key_names.user_spaces("mallory"), space, 1)
    for path in (f"/v1/memory/{memory['id']}", f"/v1/memory?space={space}", f"/v1/spaces/{space}"):
        resp = client.get(path, headers=people["mallory"])
        assert resp.status_code == 404 and "Vault" not in resp.get_data(as_text=True), path
    ctx = client.post("/v1/memory/context", json={}, headers=people["mallory"]).json
    assert ctx["memory_ids"] == []
