"""The MCP server: the same memories, as tools for AI clients (Claude Desktop, Cursor, ...).

Every tool calls the same services as the REST API, so limits, quotas,
duplicates and scopes behave identically, and errors carry the same codes.
Over stdio the server acts for one user (`--user`); over streamable HTTP each
request carries an API key (`Authorization: Bearer`, and `X-Memory-User` with
a service key), checked like REST's.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import anyio
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ResourceError, ToolError

from ..errors import ApiError, render_error
from ..models import Provenance
from ..services import Services
from ..services.auth import USER_HEADER
from . import tools_memories, tools_organize, tools_spaces

INSTRUCTIONS = (
    "Long-term memory about the user. Search it (search_memories) before answering questions about the "
    "user's life, preferences or projects; store durable facts the user wants remembered (add_memory), one "
    "fact per memory; update a memory rather than adding a contradicting one. get_context returns the block a "
    "chat would inject for a question. Shared spaces (list_spaces) hold a team's memories: name one as `space` "
    "to read or write its memories instead of the user's own."
)


def package_version() -> str:
    try:
        return version("memory-api")
    except PackageNotFoundError:  # running from a source tree that was not installed
        return "0.0.0"


def tool_error(err: ApiError) -> ToolError:
    """An ApiError as an MCP tool error: the envelope's message, naming the parameter and the code."""
    _, body, _ = render_error(err)
    detail = body["error"]
    hint = f" (parameter: {detail['param']})" if detail["param"] else ""
    return ToolError(f"{detail['message']}{hint} [{detail['code'] or detail['type']}]")


class ToolRegistry:
    """Adds tools to a server: each runs in a thread (Redis calls block) and reports our errors as tool
    errors; `user(ctx)` says whom a call acts for."""

    def __init__(self, server: MCPServer, services: Services, user: str | None) -> None:
        self.server = server
        self.services = services
        self._user = user

    def _principal(self, ctx: Context) -> tuple[str, str | None]:
        """(the user a call acts for, the id of the API key it came with: None over stdio)."""
        if self._user is not None:
            return self._user, None
        headers = ctx.headers or {}
        principal = self.services.keys.authenticate(headers.get("authorization"), headers.get(USER_HEADER.lower()))
        return principal.user_id, principal.key_id

    def user(self, ctx: Context) -> str:
        return self._principal(ctx)[0]

    def owner(self, ctx: Context, space: str | None, need: str = "read") -> str:
        """Whose memories a call works on: the user's own (`space` None), or the space's if the user may
        `need` it ('read', 'write', 'admin'): the rule api/spaces_access.py applies to REST."""
        return self.services.spaces.owner(self.user(ctx), space, need)

    def holder(self, ctx: Context, memory_id: str, space: str | None, need: str = "read", *,
               deleted_too: bool = False) -> str:
        """The owner keeping `memory_id` among those the user may reach: `space` if named, else wherever
        it is found (the user's own memories first), as REST's owner_holding."""
        return self.services.spaces.locate(self.user(ctx), memory_id, need, space=space, deleted_too=deleted_too)

    def by(self, ctx: Context) -> Provenance:
        """Who writes through this call: MCP, and the API key it came with (if any)."""
        user, key_id = self._principal(ctx)
        return Provenance(source="mcp", actor=key_id, author=user)

    def __call__(self, fn: Callable[..., Any]):
        @functools.wraps(fn)
        async def wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                return await anyio.to_thread.run_sync(functools.partial(fn, *args, **kwargs))
            except ApiError as err:
                raise tool_error(err) from None

        self.server.add_tool(wrapper, description=inspect.cleandoc(fn.__doc__ or ""))
        return wrapper


def build_mcp_server(services: Services, *, user: str | None = None) -> MCPServer:
    """The MCP server over `services`. With `user`, every call acts for that user (stdio);
    without, each request's Authorization / X-Memory-User headers say who (HTTP)."""
    server = MCPServer(name="memory-api", instructions=INSTRUCTIONS, version=package_version())
    tools = ToolRegistry(server, services, user)
    tools_memories.register(tools)
    tools_organize.register(tools)
    tools_spaces.register(tools)

    @server.resource("memory://memories/{memory_id}", name="memory", mime_type="text/plain",
                     description="One of the user's memories (or of their spaces'), by id: its content.")
    async def read_memory(memory_id: str, ctx: Context) -> str:
        try:
            found = await anyio.to_thread.run_sync(
                lambda: services.memories.get(tools.holder(ctx, memory_id, None), memory_id))
        except ApiError as err:
            raise ResourceError(err.message) from None
        return found.content

    return server
