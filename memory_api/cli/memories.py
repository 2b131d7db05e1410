"""`memory-api memory ...`: a user's memories from the shell, through the same services as REST and MCP.

Output is JSON (the REST API's objects); a refused request prints the REST
error envelope on stderr and exits 1, so scripts can read either.
"""

from __future__ import annotations

import json
from typing import Any

import click

from ..errors import ApiError
from ..models import Memory
from ..services.auth import validate_user_id
from . import ApiErrorExit, main, open_services


def _echo(payload: Any) -> None:
    click.echo(json.dumps(payload, ensure_ascii=False))


def _metadata(pairs: tuple[str, ...]) -> dict[str, str] | None:
    if not pairs:
        return None
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise click.BadParameter(f"expected KEY=VALUE, got {pair!r}", param_hint="--metadata")
        out[key] = value
    return out


def _memory(memory: Memory) -> dict[str, Any]:
    return memory.to_api()


def _user(ctx, param, value: str | None) -> str:
    try:
        return validate_user_id(value) if value is not None else _only_user()
    except ApiError as err:
        raise ApiErrorExit(err) from None


def _only_user() -> str:
    """Without --user: the one user who has a key, else `default` (the user `serve` made the first key
    for) if they have one; otherwise the user must be named."""
    with open_services(announce=False) as services:
        users = sorted({k.subject for k in services.keys.list() if k.kind == "user"})
    if len(users) == 1:
        return users[0]
    if "default" in users:
        return "default"
    if not users:
        raise click.UsageError("no user has an API key yet: name one with --user")
    raise click.UsageError(f"{len(users)} users have keys ({', '.join(users[:5])}"
                           f"{', ...' if len(users) > 5 else ''}): name one with --user")


user_option = click.option("--user", callback=_user,
                           help="Whose memories (default: the only user with a key, else `default`).")


@main.group("memory")
def memory_group() -> None:
    """Add, list, search, show, update and delete a user's memories."""


@memory_group.command("add")
@user_option
@click.argument("content")
@click.option("--tag", "tags", multiple=True, help="A tag (repeat for more).")
@click.option("--scope", help="The memory's scope (default: global).")
@click.option("--metadata", "metadata", multiple=True, metavar="KEY=VALUE", help="Metadata (repeat for more).")
def add(user: str, content: str, tags: tuple[str, ...], scope: str | None, metadata: tuple[str, ...]) -> None:
    """Store CONTENT as a memory of USER."""
    with open_services() as services:
        created = services.memories.create(user, content, _metadata(metadata), tags=list(tags) or None,
                                           scope=scope)
    _echo(_memory(created.memory))


@memory_group.command("list")
@user_option
@click.option("--limit", type=int, help="Page size.")
@click.option("--order", default="desc", show_default=True, help="desc (newest first) or asc.")
@click.option("--after", help="The page after this memory id.")
@click.option("--before", help="The page before this memory id.")
@click.option("--tag", "tags", multiple=True, help="Only memories with this tag (repeat: all of them).")
@click.option("--scope", help="Only this scope ('global': memories without one).")
def list_cmd(user: str, limit: int | None, order: str, after: str | None, before: str | None,
             tags: tuple[str, ...], scope: str | None) -> None:
    """One page of USER's memories, as the REST list object."""
    with open_services() as services:
        filters = services.rules.filters(tags=list(tags) or None, scope=scope)
        page = services.memories.list(user, limit=limit, order=order, after=after, before=before, filters=filters)
    _echo(page.to_api())


@memory_group.command("search")
@user_option
@click.argument("query")
@click.option("--limit", type=int, help="How many results.")
def search(user: str, query: str, limit: int | None) -> None:
    """USER's memories ranked by relevance to QUERY."""
    with open_services() as services:
        _echo(services.search.search(user, query, limit=limit).to_api())


@memory_group.command("get")
@user_option
@click.argument("memory_id")
def get(user: str, memory_id: str) -> None:
    """One memory."""
    with open_services() as services:
        _echo(_memory(services.memories.get(user, memory_id)))


@memory_group.command("update")
@user_option
@click.argument("memory_id")
@click.option("--content", help="New content.")
@click.option("--tag", "tags", multiple=True, help="Replace the tags (repeat for more).")
@click.option("--scope", help="Move it to this scope.")
@click.option("--global", "make_global", is_flag=True, help="Take it out of its scope.")
@click.option("--metadata", "metadata", multiple=True, metavar="KEY=VALUE", help="Replace the metadata.")
def update(user: str, memory_id: str, content: str | None, tags: tuple[str, ...], scope: str | None,
           make_global: bool, metadata: tuple[str, ...]) -> None:
    """Change a memory (only what is given)."""
    changes: dict[str, Any] = {}
    for name, value in (("content", content), ("tags", list(tags) or None), ("scope", scope),
                        ("metadata", _metadata(metadata))):
        if value is not None:
            changes[name] = value
    if make_global:
        if scope is not None:
            raise click.UsageError("give --scope or --global, not both")
        changes["scope"] = None
    with open_services() as services:
        _echo(_memory(services.memories.update(user, memory_id, changes)))


@memory_group.command("delete")
@user_option
@click.argument("memory_id")
def delete(user: str, memory_id: str) -> None:
    """Delete a memory for good."""
    with open_services() as services:
        memory = services.memories.delete(user, memory_id)
    _echo({"id": memory.id, "object": "memory.deleted", "deleted": True})
