"""Shared spaces through the Python client (memory_api.client), sync and async, against the real server
over HTTP: two users share a space and its memories; a removal takes effect at once."""

from __future__ import annotations

import asyncio
import json

import openai
import pytest

from memory_api.client import AsyncMemoryAPI, MemoryAPI, Space, SpaceMember

SECRET = "The customer prefers email."


@pytest.fixture
def connect(live_server, make_key):
    """connect(user) -> a MemoryAPI for that user's new key, closed after the test."""
    clients = []

    def make(user: str) -> MemoryAPI:
        client = MemoryAPI(base_url=f"{live_server.url}/v1", api_key=make_key(user), max_retries=0)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


def test_two_users_share_a_space_and_a_removal_takes_effect(connect):
    alice, bob, mallory = connect("alice"), connect("bob"), connect("mallory")
    team = alice.spaces.create(name="Acme support")
    assert isinstance(team, Space) and team.id.startswith("space_")
    assert (team.object, team.name, team.role, team.inject, team.created_by) == \
        ("space", "Acme support", "admin", True, "alice")
    added = alice.spaces.members.add(team.id, user="bob", role="writer")
    assert isinstance(added, SpaceMember) and (added.space, added.user, added.role) == (team.id, "bob", "writer")

    memory = bob.memory.create(content=SECRET, tags=["customer"], space=team.id)
    assert (memory.space, memory.author, memory.etag is not None) == (team.id, "bob", True)
    own = alice.memory.create(content="My invoices go to finance.")
    assert (own.space, own.author) == (None, "alice")

    # alice reads what bob wrote: by id (found among her spaces), listed, searched, counted, injected
    got = alice.memory.retrieve(memory.id)
    assert (got.content, got.space, got.author) == (SECRET, team.id, "bob") and got.etag == memory.etag
    assert [m.id for m in alice.memory.list(space=team.id)] == [memory.id]
    assert [m.id for m in alice.memory.list()] == [own.id]  # her own list never mixes in the space's
    found = alice.memory.search(query="email", mode="keyword", space=team.id)
    assert [m.id for m in found.data] == [memory.id]
    assert alice.memory.stats(space=team.id).count == 1
    assert [(t.tag, t.count) for t in alice.memory.tags(space=team.id).data] == [("customer", 1)]
    assert set(alice.memory.context(query="email invoices", mode="keyword").memory_ids) == {memory.id, own.id}
    assert alice.memory.context(query="email", mode="keyword", spaces=[]).memory_ids == []
    [event] = alice.memory.events.list(space=team.id)
    assert (event.type, event.memory_id, event.author) == ("memory.created", memory.id, "bob")

    # the space itself, as each member sees it
    assert [(s.id, s.role) for s in bob.spaces.list()] == [(team.id, "writer")]
    assert alice.spaces.update(team.id, name="Acme").name == "Acme"
    assert bob.spaces.retrieve(team.id).name == "Acme"
    assert {(m.user, m.role) for m in bob.spaces.members.list(team.id)} == {("alice", "admin"), ("bob", "writer")}
    switched = bob.spaces.members.update(team.id, "bob", inject=False)  # a member's own switch
    assert (switched.role, switched.inject) == ("writer", False)

    # a non-member: the space, its memory and its listing do not exist
    with pytest.raises(openai.NotFoundError) as hidden:
        mallory.memory.retrieve(memory.id)
    assert hidden.value.code == "memory_not_found" and SECRET not in str(hidden.value.body)
    for call in (lambda: mallory.memory.list(space=team.id), lambda: mallory.spaces.retrieve(team.id),
                 lambda: mallory.spaces.members.list(team.id),
                 lambda: mallory.memory.create(content="sneaky", space=team.id)):
        with pytest.raises(openai.NotFoundError) as missing:
            call()
        assert missing.value.code == "space_not_found"

    # roles: a reader cannot write, a writer cannot manage members
    alice.spaces.members.update(team.id, "bob", role="reader")
    with pytest.raises(openai.PermissionDeniedError) as reader:
        bob.memory.update(memory.id, content="changed")
    assert reader.value.code == "insufficient_role" and reader.value.param == "space"
    with pytest.raises(openai.PermissionDeniedError):
        bob.spaces.members.add(team.id, user="mallory")

    # removal holds from bob's next request on
    removed = alice.spaces.members.remove(team.id, "bob")
    assert (removed.object, removed.user, removed.deleted) == ("space.member.deleted", "bob", True)
    with pytest.raises(openai.NotFoundError) as gone:
        bob.memory.retrieve(memory.id)
    assert gone.value.code == "memory_not_found"
    with pytest.raises(openai.NotFoundError):
        bob.memory.search(query="email", space=team.id)
    assert list(bob.spaces.list()) == []
    assert bob.memory.context(query="email", mode="keyword").memory_ids == []
    assert alice.memory.retrieve(memory.id).content == SECRET


def test_batches_export_import_and_deletes_of_a_space(connect):
    alice, bob = connect("alice"), connect("bob")
    team = alice.spaces.create(name="Family")
    alice.spaces.members.add(team.id, user="bob", role="writer", inject=False)
    batch = bob.memory.create_batch(memories=[{"content": "Grandma's birthday is May 3."},
                                              {"content": "The wifi password is on the fridge.", "tags": ["home"]}],
                                    space=team.id)
    assert [(m.space, m.author) for m in batch.data] == [(team.id, "bob")] * 2
    assert alice.memory.stats(space=team.id).count == 2 and alice.memory.stats().count == 0

    exported = alice.memory.export(space=team.id)
    lines = [json.loads(line) for line in exported.splitlines()]
    assert {line.get("content") for line in lines[1:]} == {m.content for m in batch.data}
    with pytest.raises(openai.PermissionDeniedError):  # exports are for admins
        bob.memory.export(space=team.id)

    deleted = bob.memory.delete_batch(ids=[batch.data[0].id, "mem_01JD0000000000000000000000"], space=team.id)
    assert [d.deleted for d in deleted.data] == [True, False]
    assert alice.memory.import_(exported, space=team.id).created == 1  # the deleted one comes back
    assert alice.memory.stats(space=team.id).count == 2

    assert alice.memory.delete_all(confirm=True, space=team.id).deleted_count == 2
    assert alice.memory.stats(space=team.id).count == 0
    bob.memory.create(content="Still ours.", space=team.id)
    with pytest.raises(openai.BadRequestError) as unconfirmed:
        alice.spaces.delete(team.id, confirm=False)
    assert unconfirmed.value.param == "confirm"
    gone = alice.spaces.delete(team.id, confirm=True)
    assert (gone.id, gone.deleted, gone.memories_deleted) == (team.id, True, 1)
    with pytest.raises(openai.NotFoundError):
        bob.spaces.retrieve(team.id)


def test_the_async_client_shares_a_space_too(live_server, make_key):
    keys = {user: make_key(user) for user in ("alice", "bob")}

    async def scenario() -> None:
        url = f"{live_server.url}/v1"
        async with AsyncMemoryAPI(base_url=url, api_key=keys["alice"], max_retries=0) as alice, \
                AsyncMemoryAPI(base_url=url, api_key=keys["bob"], max_retries=0) as bob:
            team = await alice.spaces.create(name="Async team")
            await alice.spaces.members.add(team.id, user="bob")  # a reader
            assert [m.user async for m in alice.spaces.members.list(team.id)] == ["alice", "bob"]
            memory = await alice.memory.create(content=SECRET, space=team.id)
            assert [s.id async for s in bob.spaces.list()] == [team.id]
            assert [m.id async for m in bob.memory.list(space=team.id)] == [memory.id]
            assert (await bob.memory.retrieve(memory.id)).author == "alice"
            with pytest.raises(openai.PermissionDeniedError):
                await bob.memory.create(content="no", space=team.id)
            assert (await alice.spaces.members.remove(team.id, "bob")).deleted is True
            with pytest.raises(openai.NotFoundError):
                await bob.memory.retrieve(memory.id)
            assert (await alice.spaces.retrieve(team.id)).name == "Async team"

    asyncio.run(scenario())
