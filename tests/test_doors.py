"""The same bad input gets the same error code through every door: REST, MCP and the CLI.

Each row of the table is one mistake, spelled for all three doors. REST's code
is the envelope's `error.code`; an MCP tool error ends with "[code]" (and names
"(parameter: ...)"); the CLI prints the REST envelope on stderr and exits 1.
The limits are lowered (the same settings for the three doors: Settings for
REST and MCP, MEMORY_API_* variables for the CLI) so the inputs stay small.

And a changed limit changes the served spec and the behaviour together.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import anyio
from click.testing import CliRunner
import pytest
import redis
from helpers import REPO, auth, subprocess_env
from mcp import Client

from memory_api import create_app
from memory_api.cli import main as cli
from memory_api.config import Settings
from memory_api.mcp.server import build_mcp_server
from memory_api.services import Services

USER = "alice"
LIMITS = {"max_content_chars": 50, "max_tags": 3, "max_query_chars": 20, "metadata_max_keys": 2}
LIMITS_ENV = {f"MEMORY_API_{name.upper()}": str(value) for name, value in LIMITS.items()}
EXISTING = "an existing memory"  # each door's table runs with one memory of alice's, for the updates
LOWER_ULID = "mem_01jd0000000000000000000000"


@dataclass(frozen=True)
class Row:
    """One mistake, for each door. `mid` is the id of alice's existing memory."""

    name: str
    code: str
    rest: Callable[[Any, dict, str], Any]  # (flask test client, headers, mid) -> response
    mcp: Callable[[str], tuple[str, dict]]  # mid -> (tool, arguments)
    cli: Callable[[str], list[str]]  # mid -> argv after `memory-api memory`
    status: int = 400  # REST's


def _post(body):
    return lambda c, h, mid: c.post("/v1/memory", json=body, headers=h)


def _patch(body):
    return lambda c, h, mid: c.patch(f"/v1/memory/{mid}", json=body, headers=h)


def _get(path):
    return lambda c, h, mid: c.get(path, headers=h)


def _add(**arguments):
    return lambda mid: ("add_memory", arguments)


def _cli_add(content, *options):
    return lambda mid: ["add", "--user", USER, content, *options]


LONG = "x" * 51
FOUR_TAGS = ["a", "b", "c", "d"]
THREE_KEYS = {"a": "1", "b": "2", "c": "3"}
LONG_QUERY = "q" * 21

ROWS = [
    Row("content too long", "string_above_max_length",
        _post({"content": LONG}), _add(content=LONG), _cli_add(LONG)),
    Row("blank content", "empty_value",
        _post({"content": "   "}), _add(content="   "), _cli_add("   ")),
    Row("control character", "invalid_characters",
        _post({"content": "bad\x01content"}), _add(content="bad\x01content"), _cli_add("bad\x01content")),
    Row("bad tag", "invalid_tag",
        _post({"content": "ok", "tags": ["bad tag!"]}), _add(content="ok", tags=["bad tag!"]),
        _cli_add("ok", "--tag", "bad tag!")),
    Row("too many tags", "too_many_tags",
        _post({"content": "ok", "tags": FOUR_TAGS}), _add(content="ok", tags=FOUR_TAGS),
        _cli_add("ok", *[arg for t in FOUR_TAGS for arg in ("--tag", t)])),
    Row("scope global on create", "invalid_scope",
        _post({"content": "ok", "scope": "global"}), _add(content="ok", scope="global"),
        _cli_add("ok", "--scope", "global")),
    Row("scope global on update", "invalid_scope",
        _patch({"scope": "global"}), lambda mid: ("update_memory", {"memory_id": mid, "scope": "global"}),
        lambda mid: ["update", "--user", USER, mid, "--scope", "global"]),
    Row("get an invalid id", "invalid_id",
        _get("/v1/memory/mem_nope"), lambda mid: ("get_memory", {"memory_id": "mem_nope"}),
        lambda mid: ["get", "--user", USER, "mem_nope"]),
    Row("get a lowercase ULID", "invalid_id",
        _get(f"/v1/memory/{LOWER_ULID}"), lambda mid: ("get_memory", {"memory_id": LOWER_ULID}),
        lambda mid: ["get", "--user", USER, LOWER_ULID]),
    Row("list limit 0", "invalid_limit",
        _get("/v1/memory?limit=0"), lambda mid: ("list_memories", {"limit": 0}),
        lambda mid: ["list", "--user", USER, "--limit", "0"]),
    Row("list limit 101", "invalid_limit",
        _get("/v1/memory?limit=101"), lambda mid: ("list_memories", {"limit": 101}),
        lambda mid: ["list", "--user", USER, "--limit", "101"]),
    Row("search query too long", "string_above_max_length",
        _get(f"/v1/memory/search?query={LONG_QUERY}"), lambda mid: ("search_memories", {"query": LONG_QUERY}),
        lambda mid: ["search", "--user", USER, LONG_QUERY]),
    Row("too many metadata keys", "too_many_keys",
        _post({"content": "ok", "metadata": THREE_KEYS}), _add(content="ok", metadata=THREE_KEYS),
        _cli_add("ok", *[arg for k, v in THREE_KEYS.items() for arg in ("--metadata", f"{k}={v}")])),
    Row("update with nothing to change", "empty_update",
        _patch({}), lambda mid: ("update_memory", {"memory_id": mid}),
        lambda mid: ["update", "--user", USER, mid]),
    Row("add a duplicate of a stored memory", "duplicate_memory",
        _post({"content": EXISTING.upper()}), _add(content=EXISTING.upper()), _cli_add(EXISTING.upper()),
        status=409),
]

_MCP_ERROR = re.compile(r"(?:\(parameter: (?P<param>[^)]*)\) )?\[(?P<code>[a-z_]+)\]$")


@pytest.fixture(scope="module")
def cli_errors(redis_server):
    """Every row through the CLI (click's runner, in this process: the same command code, its own Services
    from the environment), as (code, param) from the envelope on stderr, against alice's one existing memory,
    before the module's tests (each of which starts from an empty database again) use these answers."""
    with redis.Redis.from_url(redis_server.url) as r:
        r.flushall()  # our private server (as the redis_client fixture does)
    svc = Services.build(Settings(redis_url=redis_server.url, log_level="WARNING", **LIMITS))
    try:
        mid = svc.memories.create(USER, EXISTING).memory.id
        env = {"REDIS_URL": redis_server.url, "MEMORY_API_LOG_LEVEL": "WARNING", **LIMITS_ENV}
        answers = {}
        for row in ROWS:
            done = CliRunner().invoke(cli, ["memory", *row.cli(mid)], env=env)
            assert done.exit_code == 1, f"{row.name}: exit {done.exit_code}, {done.output!r}, {done.exception!r}"
            envelope = json.loads(done.stderr.strip().splitlines()[-1])
            answers[row.name] = (envelope["error"]["code"], envelope["error"]["param"])
        assert [m.content for m in svc.memories.list(USER).items] == [EXISTING], "refused calls wrote nothing"
    finally:
        svc.close()
    return answers


@pytest.fixture
def small(settings):
    """Services and app with the lowered limits, and alice's key and existing memory."""
    lowered = settings.replace(**LIMITS)
    svc = Services.build(lowered)
    app = create_app(lowered, svc)
    key, _ = svc.keys.create(user=USER)
    mid = svc.memories.create(USER, EXISTING).memory.id
    yield app.test_client(), auth(key), svc, mid
    svc.close()


def _mcp_error(svc, tool: str, arguments: dict) -> tuple[str, str | None]:
    server = build_mcp_server(svc, user=USER)

    async def scenario():
        async with Client(server) as mcp:
            return await mcp.call_tool(tool, arguments)

    result = anyio.run(scenario)
    assert result.is_error, f"{tool}{arguments} was accepted: {result.structured_content}"
    text = result.content[0].text
    found = _MCP_ERROR.search(text)
    assert found, f"no [code] at the end of the tool error: {text!r}"
    return found["code"], found["param"]


@pytest.mark.parametrize("row", ROWS, ids=[r.name for r in ROWS])
def test_same_mistake_same_code_through_every_door(row, small, cli_errors):
    client, headers, svc, mid = small
    resp = row.rest(client, headers, mid)
    assert resp.status_code == row.status, resp.json
    rest = (resp.json["error"]["code"], resp.json["error"]["param"])
    mcp = _mcp_error(svc, *row.mcp(mid))
    cli = cli_errors[row.name]
    assert {"rest": rest[0], "mcp": mcp[0], "cli": cli[0]} == {"rest": row.code, "mcp": row.code, "cli": row.code}
    assert rest[1] == mcp[1] == cli[1], f"the doors name different params: {rest[1]!r} {mcp[1]!r} {cli[1]!r}"
    # nothing was written by any of the refused calls (the CLI's own database is checked in cli_errors)
    assert [m["content"] for m in client.get("/v1/memory", headers=headers).json["data"]] == [EXISTING]


# --- a changed limit changes the spec and the behaviour together ------------------------------------------
#
# Each app is built and probed in a fresh interpreter, so nothing an earlier app in this process did can
# colour what it serves. The "both" probe builds two apps in one interpreter: the regression test for the
# spec options once being shared between apps (apispec updates them in place; memory_api/api/__init__.py now
# hands each app a deep copy), when the first app to serve its spec decided every later app's limits.

PROBE = r"""
import json, sys, uuid
from memory_api import create_app
from memory_api.config import Settings

report = []
for changes in json.loads(sys.argv[1]):
    app = create_app(Settings.from_env(dotenv=False).replace(**changes))
    client = app.test_client()
    spec = client.get("/openapi.json").json
    create = spec["components"]["schemas"]["MemoryCreateRequest"]["properties"]
    [list_op] = [op for item in spec["paths"].values() for op in item.values()
                 if isinstance(op, dict) and op.get("operationId") == "listMemories"]
    [limit] = [p for p in list_op["parameters"] if p.get("name") == "limit" and p.get("in") == "query"]
    settings = app.config["MEMORY_API_SETTINGS"]
    h = {"Authorization": "Bearer " + app.extensions["memory_api"].keys.create(user=uuid.uuid4().hex)[0]}

    def answer(resp):
        return [resp.status_code, resp.json["error"]["code"] if resp.status_code != 200 else None]

    def create_with(**body):
        return answer(client.post("/v1/memory", json=body, headers=h))

    chars, tags, page = settings.max_content_chars, settings.max_tags, settings.max_page_size
    report.append({
        "spec": [create["content"]["maxLength"], limit["schema"]["maximum"], create["tags"]["maxItems"]],
        "content": [create_with(content="y" * chars), create_with(content="y" * (chars + 1))],
        "tags": [create_with(content="t", tags=[f"t{i}" for i in range(tags)]),
                 create_with(content="t", tags=[f"t{i}" for i in range(tags + 1)])],
        "limit": [answer(client.get(f"/v1/memory?limit={n}", headers=h)) for n in (page, page + 1)],
    })
    app.extensions["memory_api"].close()
print(json.dumps(report))
"""


def _probe(redis_url: str, *apps: dict) -> subprocess.Popen:
    """Start a fresh interpreter that builds one app per `apps` entry (settings changes), in order."""
    return subprocess.Popen([sys.executable, "-c", PROBE, json.dumps(apps)], cwd=REPO, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            env=subprocess_env(REDIS_URL=redis_url, MEMORY_API_LOG_LEVEL="WARNING"))


def _report(proc: subprocess.Popen) -> list[dict]:
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    return json.loads(out)


def _expected(chars: int, page: int, tags: int) -> dict:
    return {
        "spec": [chars, page, tags],
        "content": [[200, None], [400, "string_above_max_length"]],
        "tags": [[200, None], [400, "too_many_tags"]],
        "limit": [[200, None], [400, "invalid_limit"]],
    }


# default_page_size must not exceed max_page_size (Settings refuses otherwise), so it is lowered too
CHANGED = {"max_content_chars": 123, "max_page_size": 7, "default_page_size": 7, "max_tags": 3}


@pytest.fixture(scope="module")
def probes(redis_server):
    """The three probe interpreters, started side by side."""
    procs = {"changed": _probe(redis_server.url, CHANGED), "default": _probe(redis_server.url, {}),
             "both": _probe(redis_server.url, CHANGED, {})}
    return {name: _report(proc) for name, proc in procs.items()}


def test_a_changed_limit_changes_spec_and_behaviour_together(probes):
    assert probes["changed"] == [_expected(123, 7, 3)]


def test_the_default_spec_says_the_default_limits(probes):
    defaults = Settings()
    assert (defaults.max_content_chars, defaults.max_page_size, defaults.max_tags) == (4000, 100, 20)
    assert probes["default"] == [_expected(4000, 100, 20)]


def test_two_apps_in_one_process_serve_their_own_limits(probes):
    first, second = probes["both"]
    assert first == _expected(123, 7, 3)
    assert second == _expected(4000, 100, 20)
