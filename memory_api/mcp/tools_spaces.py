"""MCP tools for shared spaces: the user's spaces, a space's members, and (for admins) adding and removing
them. The memories of a space are read and written by the memory tools, naming it as `space`."""

from __future__ import annotations

from typing import Any, Literal

from mcp.server.mcpserver import Context

from ..services.spaces import Space
from .outputs import MemberList, MemberOut, MemberRemoved, SpaceList, SpaceOut


def space_out(space: Space) -> SpaceOut:
    """A space as the MCP tools give it: the REST object's fields, less `object`."""
    api = space.to_api()
    return SpaceOut(**{name: api[name] for name in SpaceOut.model_fields})


def member_out(member: dict[str, Any]) -> MemberOut:
    """A member (services.spaces.member_to_api's row) as the MCP tools give it."""
    return MemberOut(**{name: member[name] for name in MemberOut.model_fields})


def register(tool) -> None:
    """Add the tools to `tool` (a ToolRegistry)."""
    spaces = tool.services.spaces

    @tool
    def list_spaces(ctx: Context) -> SpaceList:
        """The shared spaces the user is a member of, with their role in each (reader: read and search;
        writer: also add, update, delete; admin: also manage members). Pass a space's id as `space` to the
        memory tools to work on its memories."""
        return SpaceList(spaces=[space_out(s) for s in spaces.list(tool.user(ctx))])

    @tool
    def create_space(ctx: Context, name: str) -> SpaceOut:
        """Create a shared space (name: one line, up to 100 characters); the user is its first admin."""
        return space_out(spaces.create(tool.user(ctx), name))

    @tool
    def list_space_members(ctx: Context, space: str) -> MemberList:
        """The members of a space the user belongs to, with their roles."""
        members = spaces.members(tool.user(ctx), space)
        return MemberList(space=space, members=[member_out(m) for m in members])

    @tool
    def add_space_member(ctx: Context, space: str, user: str,
                         role: Literal["reader", "writer", "admin"] = "reader") -> MemberOut:
        """Add a user (their user id) to a space, as reader (the default), writer or admin. Admins only."""
        return member_out(spaces.add_member(tool.user(ctx), space, user, role))

    @tool
    def remove_space_member(ctx: Context, space: str, user: str | None = None) -> MemberRemoved:
        """Remove a member (their user id) from a space: admins only. Omit user to leave the space yourself.
        The removed member no longer sees its memories, from their next request on."""
        me = tool.user(ctx)
        removed = spaces.remove_member(me, space, me if user is None else user)
        return MemberRemoved(space=removed["space"], user=removed["user"], removed=removed["deleted"])
