"""Shared spaces through the MCP tools, driven by the mcp SDK's client in-process against real Redis: the
same access rules as REST (tests/test_spaces.py), with the same error codes."""

from __future__ import annotations

import contextlib

import anyio
import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError

from helpers import auth
from memory_api.mcp.server import build_mcp_server

SECRET = "The customer prefers email"


def run(scenario):
    return anyio.run(scenario)


async def ok(mcp: Client, tool: str, **arguments) -> dict:
    """A tool's structured answer; the test fails with the tool's error text if it refused."""
    result = await mcp.call_tool(tool, arguments)
    assert not result.is_error, (tool, result.content[0].text)
    return result.structured_content


async def refused(mcp: Client, tool: str, **arguments) -> str:
    """A tool's error text (the test fails if the tool did not refuse)."""
    result = await mcp.call_tool(tool, arguments)
    assert result.is_error, (tool, arguments, result.structured_content)
    return result.content[0].text


@contextlib.asynccontextmanager
async def sessions(services, *users: str):
    """An MCP session per user (stdio-style: the server acts for that user)."""
    async with contextlib.AsyncExitStack() as stack:
        yield [await stack.enter_async_context(Client(build_mcp_server(services, user=u))) for u in users]


@pytest.fixture
def team(services):
    """alice's space with bob as writer and carol as reader, and one memory bob wrote in it."""
    space = services.spaces.create("alice", "Acme support").id
    services.spaces.add_member("alice", space, "bob", "writer")
    services.spaces.add_member("alice", space, "carol", "reader")

    async def write() -> dict:
        async with sessions(services, "bob") as (bob,):
            return (await ok(bob, "add_memory", content=SECRET, tags=["customer"], space=space))["memory"]

    return space, run(write)


def test_the_space_tools_create_list_and_manage_members(services):
    async def scenario():
        async with sessions(services, "alice", "bob", "carol") as (alice, bob, carol):
            created = await ok(alice, "create_space", name="Family")
            space = created["id"]
            assert created["role"] == "admin" and created["created_by"] == "alice" and created["inject"] is True
            added = await ok(alice, "add_space_member", space=space, user="bob", role="writer")
            assert (added["user"], added["role"]) == ("bob", "writer")
            await ok(alice, "add_space_member", space=space, user="carol")  # reader by default
            assert [(s["id"], s["name"], s["role"]) for s in (await ok(bob, "list_spaces"))["spaces"]] == \
                [(space, "Family", "writer")]
            members = await ok(carol, "list_space_members", space=space)
            assert members["space"] == space
            assert {(m["user"], m["role"]) for m in members["members"]} == \
                {("alice", "admin"), ("bob", "writer"), ("carol", "reader")}
            # a writer manages nobody; the last admin cannot leave
            assert "[insufficient_role]" in await refused(bob, "remove_space_member", space=space, user="carol")
            assert "[insufficient_role]" in await refused(bob, "add_space_member", space=space, user="dave")
            assert "[last_admin]" in await refused(alice, "remove_space_member", space=space)
            # carol leaves by herself (no user named), and from her next call on the space is gone
            left = await ok(carol, "remove_space_member", space=space)
            assert left == {"space": space, "user": "carol", "removed": True}
            assert (await ok(carol, "list_spaces"))["spaces"] == []
            assert "[space_not_found]" in await refused(carol, "list_space_members", space=space)
            assert "[invalid_value]" in await refused(alice, "create_space", name="two\nlines")

    run(scenario)


def test_a_member_reads_searches_and_injects_a_spaces_memory(services, team, client, make_key):
    space, memory = team
    assert (memory["space"], memory["author"]) == (space, "bob")

    async def scenario():
        async with sessions(services, "alice", "carol") as (alice, carol):
            own = (await ok(alice, "add_memory", content="My invoices go to finance"))["memory"]
            assert (own["space"], own["author"]) == (None, "alice")
            for reader in (alice, carol):
                listed = await ok(reader, "list_memories", space=space)
                assert [m["id"] for m in listed["memories"]] == [memory["id"]]
                found = await ok(reader, "search_memories", query="email", mode="keyword", space=space)
                assert [m["id"] for m in found["memories"]] == [memory["id"]]
                # by id, without naming the space: found among the reader's spaces
                got = await ok(reader, "get_memory", memory_id=memory["id"])
                assert (got["content"], got["space"], got["author"]) == (SECRET, space, "bob")
                assert (await ok(reader, "get_memory", memory_id=memory["id"], space=space))["id"] == memory["id"]
                assert (await ok(reader, "get_memory_history", memory_id=memory["id"]))["versions"] == []
                assert (await ok(reader, "memory_stats", space=space))["count"] == 1
                assert (await ok(reader, "list_tags", space=space))["tags"] == [{"tag": "customer", "count": 1}]
                resource = await reader.read_resource(f"memory://memories/{memory['id']}")
                assert resource.contents[0].text == SECRET
            # the user's own list and stats never mix in a space's memories
            assert [m["id"] for m in (await ok(alice, "list_memories"))["memories"]] == [own["id"]]
            assert (await ok(carol, "list_memories"))["memories"] == []
            assert (await ok(carol, "memory_stats"))["count"] == 0
            # the context block: the spaces with inject on by default, those named, or none
            default = await ok(alice, "get_context", query="email or invoices", mode="keyword")
            assert set(default["memory_ids"]) == {memory["id"], own["id"]}
            assert '[shared "Acme support", by "bob"]' in default["text"]
            assert (await ok(alice, "get_context", query="email", mode="keyword", spaces=[]))["memory_ids"] == []
            named = await ok(carol, "get_context", query="email", mode="keyword", spaces=[space])
            assert named["memory_ids"] == [memory["id"]]

    run(scenario)
    # what MCP wrote into the space, REST reads as a member
    got = client.get(f"/v1/memory/{memory['id']}", headers=auth(make_key("carol")))
    assert got.status_code == 200 and got.json["author"] == "bob" and got.json["space"] == space


# Every tool that takes a space or a memory id, called by a non-member: arguments other than the space or
# the memory id. Each must answer exactly what a space or memory that does not exist gets.
SPACE_CALLS = {
    "add_memory": {"content": "sneaky"},
    "batch_add_memories": {"memories": [{"content": "sneaky"}]},
    "search_memories": {"query": "email"},
    "list_memories": {},
    "memory_stats": {},
    "list_tags": {},
    "export_memories": {},
    "import_memories": {"jsonl": '{"format": "memory-api.memories"}\n'},
    "clear_memories": {"confirm": True},
    "list_space_members": {},
    "add_space_member": {"user": "mallory"},
    "remove_space_member": {"user": "bob"},
}
MEMORY_CALLS = {
    "get_memory": {},
    "update_memory": {"content": "overwritten"},
    "delete_memory": {},
    "revert_memory": {"revision": 1},
    "restore_memory": {},
    "get_memory_history": {},
}


def test_a_non_member_gets_not_found_from_every_tool(services, team):
    space, memory = team

    async def scenario():
        async with sessions(services, "mallory", "carol") as (mallory, carol):
            # every tool that names a space or a memory is covered here
            tools = {t.name: set(t.input_schema["properties"]) for t in (await mallory.list_tools()).tools}
            assert {n for n, p in tools.items() if "space" in p and "memory_id" not in p} == set(SPACE_CALLS)
            assert {n for n, p in tools.items() if "memory_id" in p} == set(MEMORY_CALLS)
            assert {n for n, p in tools.items() if "spaces" in p} == {"get_context"}

            for tool, arguments in SPACE_CALLS.items():
                text = await refused(mallory, tool, space=space, **arguments)
                assert text.endswith(f"No space found with id '{space}'. (parameter: space) [space_not_found]"), tool
            text = await refused(mallory, "get_context", query="email", spaces=[space])
            assert text.endswith("(parameter: memory.spaces) [space_not_found]") and SECRET not in text
            for tool, arguments in MEMORY_CALLS.items():
                text = await refused(mallory, tool, memory_id=memory["id"], **arguments)
                assert text.endswith("(parameter: memory_id) [memory_not_found]"), (tool, text)
                assert SECRET not in text
                named = await refused(mallory, tool, memory_id=memory["id"], space=space, **arguments)
                assert named.endswith("[space_not_found]"), (tool, named)
            with pytest.raises(MCPError) as hidden:
                await mallory.read_resource(f"memory://memories/{memory['id']}")
            assert SECRET not in str(hidden.value)
            # nor does the space show anywhere of mallory's
            assert (await ok(mallory, "list_spaces"))["spaces"] == []
            assert (await ok(mallory, "list_memories"))["memories"] == []
            assert (await ok(mallory, "search_memories", query="email", mode="keyword"))["memories"] == []
            assert (await ok(mallory, "get_context", query="email", mode="keyword"))["memory_ids"] == []
            # and nothing of the space changed
            got = await ok(carol, "get_memory", memory_id=memory["id"])
            assert (got["content"], got["revision"]) == (SECRET, 1)
            assert (await ok(carol, "memory_stats", space=space))["count"] == 1
            assert {m["user"] for m in (await ok(carol, "list_space_members", space=space))["members"]} == \
                {"alice", "bob", "carol"}

    run(scenario)


def test_a_reader_cannot_write_and_a_writer_cannot_administer(services, team):
    space, memory = team

    async def scenario():
        async with sessions(services, "carol", "bob") as (carol, bob):
            writes = [("add_memory", {"content": "no", "space": space}),
                      ("batch_add_memories", {"memories": [{"content": "no"}], "space": space}),
                      ("update_memory", {"memory_id": memory["id"], "content": "changed"}),
                      ("update_memory", {"memory_id": memory["id"], "content": "changed", "space": space}),
                      ("delete_memory", {"memory_id": memory["id"]}),
                      ("revert_memory", {"memory_id": memory["id"], "revision": 1}),
                      ("restore_memory", {"memory_id": memory["id"]}),
                      ("clear_memories", {"confirm": True, "space": space}),
                      ("export_memories", {"space": space}),
                      ("add_space_member", {"space": space, "user": "dave"})]
            for tool, arguments in writes:
                text = await refused(carol, tool, **arguments)
                assert "(parameter: space) [insufficient_role]" in text, (tool, text)
                assert "You are a reader of space" in text
            # a writer writes, and is the author of what they change...
            changed = await ok(bob, "update_memory", memory_id=memory["id"], content=SECRET + " and phone",
                               expected_revision=1)
            assert (changed["revision"], changed["author"], changed["space"]) == (2, "bob", space)
            # ...but neither exports, imports nor clears the whole space: admins only
            for tool, arguments in (("export_memories", {}), ("clear_memories", {"confirm": True}),
                                    ("import_memories", {"jsonl": '{"format": "memory-api.memories"}\n'})):
                text = await refused(bob, tool, space=space, **arguments)
                assert "[insufficient_role]" in text and "You are a writer of space" in text, tool
            assert (await ok(carol, "get_memory", memory_id=memory["id"]))["content"] == SECRET + " and phone"

    run(scenario)


def test_removing_a_member_takes_effect_on_their_next_call(services, team):
    space, memory = team

    async def scenario():
        async with sessions(services, "alice", "bob") as (alice, bob):
            assert (await ok(bob, "get_memory", memory_id=memory["id"]))["content"] == SECRET
            assert (await ok(alice, "remove_space_member", space=space, user="bob"))["removed"] is True
            assert "[memory_not_found]" in await refused(bob, "get_memory", memory_id=memory["id"])
            assert "[space_not_found]" in await refused(bob, "list_memories", space=space)
            assert "[space_not_found]" in await refused(bob, "add_memory", content="still here?", space=space)
            assert (await ok(bob, "get_context", query="email", mode="keyword"))["memory_ids"] == []
            # an admin clears every memory of the space
            await ok(alice, "clear_memories", confirm=True, space=space)
            assert (await ok(alice, "memory_stats", space=space))["count"] == 0

    run(scenario)
