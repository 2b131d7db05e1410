"""The MCP server, driven by the mcp SDK's own client: in-process, over stdio, over HTTP."""

from __future__ import annotations

import json
import sys

import anyio
import httpx2
import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters
from mcp.client.streamable_http import streamable_http_client

from helpers import REPO, auth, mcp_http_server, subprocess_env
from memory_api.mcp.server import build_mcp_server

TOOLS = {"add_memory", "batch_add_memories", "search_memories", "list_memories", "get_memory", "update_memory",
         "delete_memory", "get_memory_history", "memory_stats", "list_tags", "export_memories",
         "import_memories", "clear_memories", "get_context", "revert_memory", "extract_memories",
         "restore_memory", "list_spaces", "create_space", "list_space_members", "add_space_member",
         "remove_space_member"}


def run(coro_fn, *args):
    return anyio.run(coro_fn, *args)


async def call(client: Client, tool: str, **arguments):
    result = await client.call_tool(tool, arguments)
    return result


def test_every_tool_in_process(services, client, make_key):
    server = build_mcp_server(services, user="alice")
    key = make_key("alice")

    async def scenario():
        async with Client(server) as mcp:
            tools = {t.name: t for t in (await mcp.list_tools()).tools}
            assert set(tools) == TOOLS
            for tool in tools.values():
                assert tool.description and tool.input_schema["type"] == "object"
                assert tool.output_schema and tool.output_schema["type"] == "object"

            added = (await call(mcp, "add_memory", content="Alice is allergic to peanuts", tags=["health"])).structured_content
            assert added["memory"]["tags"] == ["health"]
            memory_id = added["memory"]["id"]
            dup = await call(mcp, "add_memory", content="alice is ALLERGIC to peanuts")
            assert dup.is_error and memory_id in dup.content[0].text and "[duplicate_memory]" in dup.content[0].text

            batch = (await call(mcp, "batch_add_memories", memories=[
                {"content": "Project Falcon launches in March", "scope": "falcon"},
                {"content": "Prefers tea in the morning", "tags": ["food"]}])).structured_content
            assert len({r["memory"]["id"] for r in batch["results"]} | {memory_id}) == 3

            found = (await call(mcp, "search_memories", query="peanuts allergy")).structured_content
            assert found["memories"][0]["id"] == memory_id and found["memories"][0]["score"] > 0
            scoped = (await call(mcp, "search_memories", query="falcon", scope="falcon")).structured_content
            assert len(scoped["memories"]) == 1

            page = (await call(mcp, "list_memories", limit=2)).structured_content
            assert len(page["memories"]) == 2 and page["has_more"] and page["next_cursor"]
            rest = (await call(mcp, "list_memories", limit=2, after=page["next_cursor"])).structured_content
            assert len(rest["memories"]) == 1 and rest["next_cursor"] is None
            assert (await call(mcp, "get_memory", memory_id=memory_id)).structured_content["content"].startswith("Alice")

            updated = (await call(mcp, "update_memory", memory_id=memory_id, content="Alice is allergic to peanuts "
                                  "and shellfish", expected_revision=1)).structured_content
            assert updated["revision"] == 2
            stale = await call(mcp, "update_memory", memory_id=memory_id, content="lost update", expected_revision=1)
            assert stale.is_error and "it is at revision 2, not 1" in stale.content[0].text
            assert "(parameter: expected_revision) [precondition_failed]" in stale.content[0].text
            assert "If-Match" not in stale.content[0].text
            history = (await call(mcp, "get_memory_history", memory_id=memory_id)).structured_content
            assert history["versions"][0]["content"] == "Alice is allergic to peanuts"

            stats = (await call(mcp, "memory_stats")).structured_content
            assert stats["count"] == 3 and stats["scopes"] == 1
            tags = (await call(mcp, "list_tags")).structured_content
            assert {t["tag"] for t in tags["tags"]} == {"health", "food"}
            ctx = (await call(mcp, "get_context", query="what is alice allergic to?", max_words=12)).structured_content
            assert ctx["memory_ids"][0] == memory_id and ctx["word_count"] <= 12

            exported = (await call(mcp, "export_memories")).structured_content
            assert exported["count"] == 3
            refused = await call(mcp, "clear_memories")
            assert refused.is_error and "confirm=true" in refused.content[0].text
            assert (await call(mcp, "memory_stats")).structured_content["count"] == 3
            cleared = (await call(mcp, "clear_memories", confirm=True)).structured_content
            assert cleared["deleted_count"] == 3
            imported = (await call(mcp, "import_memories", jsonl=exported["jsonl"])).structured_content
            assert imported["created"] == 3

            deleted = (await call(mcp, "delete_memory", memory_id=memory_id)).structured_content
            assert deleted == {"id": memory_id, "deleted": True}
            resource = await mcp.read_resource(f"memory://memories/{batch['results'][1]['memory']['id']}")
            assert resource.contents[0].text == "Prefers tea in the morning"

    run(scenario)
    # what MCP wrote, REST reads
    listed = client.get("/v1/memory", headers=auth(key)).json["data"]
    assert {m["content"] for m in listed} == {"Project Falcon launches in March", "Prefers tea in the morning"}


UNICODE_LINE_BREAKS = ["Tea\u2028then coffee", "First\u2029second paragraph", "Next\u0085line",
                       "All three: a\u2028b\u2029c\u0085d"]


def test_export_then_import_round_trips_unicode_line_separators(services):
    """MCP's own export imports back when contents hold U+2028, U+2029 or U+0085: the export writes them
    raw (JSON allows it), so an import that split lines as str.splitlines does cut a line in two."""
    server = build_mcp_server(services, user="alice")

    async def scenario():
        async with Client(server) as mcp:
            for content in UNICODE_LINE_BREAKS:
                assert not (await call(mcp, "add_memory", content=content)).is_error
            exported = (await call(mcp, "export_memories")).structured_content
            assert exported["count"] == len(UNICODE_LINE_BREAKS)
            # raw in the export, not \u-escaped: otherwise this test would not exercise the line splitting
            assert all(char in exported["jsonl"] for char in "\u2028\u2029\u0085")
            assert (await call(mcp, "clear_memories", confirm=True)).structured_content["deleted_count"] == 4
            imported = await call(mcp, "import_memories", jsonl=exported["jsonl"])
            assert not imported.is_error, imported.content[0].text
            assert imported.structured_content["created"] == len(UNICODE_LINE_BREAKS)
            listed = (await call(mcp, "list_memories", limit=10)).structured_content["memories"]
            return {m["content"] for m in listed}

    assert run(scenario) == set(UNICODE_LINE_BREAKS)


def test_server_info_and_tool_descriptions(services):
    """serverInfo carries the package's version (not the SDK's default); descriptions carry no docstring
    indentation."""
    from importlib.metadata import version

    server = build_mcp_server(services, user="alice")

    async def scenario():
        async with Client(server) as mcp:
            info = mcp.server_info
            assert (info.name, info.version) == ("memory-api", version("memory-api"))
            for tool in (await mcp.list_tools()).tools:
                lines = tool.description.splitlines()
                assert all(line == line.strip() for line in lines), (tool.name, tool.description)

    run(scenario)


@pytest.mark.parametrize("tool, arguments, fragment", [
    ("add_memory", {"content": "  "}, "must not be empty"),
    ("add_memory", {"content": "x" * 4001}, "maximum is 4000"),
    ("add_memory", {"content": "x", "tags": ["bad tag!"]}, "tags"),
    ("add_memory", {"content": "x", "scope": "global"}, "scope"),
    ("get_memory", {"memory_id": "nope"}, "Invalid memory id"),
    ("get_memory", {"memory_id": "mem_01JD0000000000000000000000"}, "No memory found"),
    ("search_memories", {"query": "tea", "limit": 500}, "limit"),
    ("list_memories", {"after": "garbage"}, "after"),
    ("update_memory", {"memory_id": "mem_01JD0000000000000000000000"}, "Nothing to update"),
    ("get_context", {"max_words": 99999}, "max_words"),
    ("batch_add_memories", {"memories": [{"content": "ok"}, {"content": ""}]}, "memories[1].content"),
    ("import_memories", {"jsonl": "not json"}, "Line 1"),
])
def test_tool_errors_are_tool_errors_a_model_can_act_on(services, tool, arguments, fragment):
    server = build_mcp_server(services, user="alice")

    async def scenario():
        async with Client(server) as mcp:
            result = await mcp.call_tool(tool, arguments)
            assert result.is_error
            assert fragment in result.content[0].text

    run(scenario)


def test_quota_applies_to_mcp_too(settings, make_key):
    from memory_api.services import Services

    limited = Services.build(settings.replace(quota_memories=1))
    server = build_mcp_server(limited, user="alice")

    async def scenario():
        async with Client(server) as mcp:
            assert not (await mcp.call_tool("add_memory", {"content": "one"})).is_error
            full = await mcp.call_tool("add_memory", {"content": "two"})
            assert full.is_error and "memory_full" in full.content[0].text

    run(scenario)
    limited.close()


def test_stdio_server_as_a_desktop_client_launches_it(redis_server, services, client, make_key):
    key = make_key("bob")
    params = StdioServerParameters(command=sys.executable, args=["-m", "memory_api.cli", "mcp", "--user", "bob"],
                                   env=subprocess_env(REDIS_URL=redis_server.url, MEMORY_API_LOG_LEVEL="WARNING"),
                                   cwd=str(REPO))
    rest_memory = client.post("/v1/memory", json={"content": "Bob written through REST"}, headers=auth(key)).json

    async def scenario():
        async with Client(params) as mcp:
            assert {t.name for t in (await mcp.list_tools()).tools} == TOOLS
            got = (await mcp.call_tool("get_memory", {"memory_id": rest_memory["id"]})).structured_content
            assert got["content"] == "Bob written through REST"
            added = await mcp.call_tool("add_memory", {"content": "Bob written through MCP stdio"})
            return added.structured_content["memory"]["id"]

    mcp_id = run(scenario)
    assert client.get(f"/v1/memory/{mcp_id}", headers=auth(key)).json["content"] == "Bob written through MCP stdio"


@pytest.fixture(scope="module")
def mcp_http(redis_server, tmp_path_factory):
    """One MCP HTTP server for the module's tests (a process start each would cost ~2 s): each test's keys
    are new, so the server's key cache holds nothing a test relies on."""
    with mcp_http_server(redis_server, tmp_path_factory.mktemp("mcp-http")) as url:
        yield url


def test_http_transport_with_user_and_service_keys(mcp_http, client, make_key):
    user_key, service_key = make_key("carol"), make_key(service="backend")

    async def scenario(headers):
        async with httpx2.AsyncClient(headers=headers, timeout=30) as http:
            async with Client(streamable_http_client(mcp_http, http_client=http)) as mcp:
                assert {t.name for t in (await mcp.list_tools()).tools} == TOOLS
                added = await mcp.call_tool("add_memory", {"content": f"via HTTP as {headers.get('X-Memory-User')}"})
                assert not added.is_error, added.content
                listed = await mcp.call_tool("list_memories", {})
                return [m["content"] for m in listed.structured_content["memories"]]

    assert run(scenario, {"Authorization": f"Bearer {user_key}"}) == ["via HTTP as None"]
    as_dave = run(scenario, {"Authorization": f"Bearer {service_key}", "X-Memory-User": "dave"})
    assert as_dave == ["via HTTP as dave"]
    # what MCP wrote, REST reads (and the other way round is the stdio test)
    assert [m["content"] for m in client.get("/v1/memory", headers=auth(user_key)).json["data"]] == ["via HTTP as None"]


@pytest.mark.parametrize("headers, challenge", [
    ({}, 'Bearer realm="memory-api"'),
    ({"Authorization": "Bearer sk-mem-wrong"}, 'Bearer realm="memory-api", error="invalid_token"'),
])
def test_http_transport_refuses_bad_keys_with_a_bearer_challenge(mcp_http, headers, challenge):
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
    resp = httpx2.post(mcp_http, json=body, headers={**headers, "Accept": "application/json, text/event-stream"})
    assert resp.status_code == 401
    assert resp.json()["error"]["type"] == "authentication_error"
    assert resp.headers["WWW-Authenticate"].startswith(challenge)


def test_http_transport_has_no_oauth_metadata_to_discover(mcp_http):
    """A 404, not a 401, on the well-known paths OAuth clients probe: this server takes an API key."""
    base = mcp_http.removesuffix("/mcp")
    for path in ("/.well-known/oauth-protected-resource", "/.well-known/oauth-protected-resource/mcp",
                 "/.well-known/oauth-authorization-server", "/.well-known/openid-configuration"):
        resp = httpx2.get(base + path, headers={"Authorization": "Bearer sk-mem-wrong"})
        assert resp.status_code == 404, path
        assert resp.json()["error"]["type"] == "not_found_error" and path in resp.json()["error"]["message"]


def test_http_service_key_needs_a_user(mcp_http, make_key):
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
    resp = httpx2.post(mcp_http, json=body, headers={"Authorization": f"Bearer {make_key(service='svc')}",
                                                     "Accept": "application/json, text/event-stream"})
    assert resp.status_code == 400 and resp.json()["error"]["param"] == "X-Memory-User"
    assert json.loads(resp.text)["error"]["code"] == "missing_user"
