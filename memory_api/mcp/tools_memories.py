"""MCP tools for one memory or a few: add, list, search, get, update, delete, history; of the user's own
memories, or with `space` of a shared space's (each call checks the user's membership, as REST does)."""

from __future__ import annotations

from typing import Any, Literal

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError

from .outputs import (
    AddResult,
    BatchAddResult,
    Deleted,
    History,
    MemoryOut,
    MemoryPage,
    NewMemory,
    ScoredMemoryOut,
    SearchResult,
    Source,
    SpaceArg,
    SpaceOfMemory,
    memory_out,
)


def _versions(expected_revision: int | None) -> list[str] | None:
    return None if expected_revision is None else [str(expected_revision)]


def register(tool) -> None:
    """Add the tools to `tool` (a ToolRegistry). Over 60 lines: a list of tool definitions, each short, each
    documented where it is declared (its docstring is what the MCP client shows), read best in one place."""
    services = tool.services
    memories = services.memories

    @tool
    def add_memory(ctx: Context, content: str, tags: list[str] | None = None, scope: str | None = None,
                   metadata: dict[str, str] | None = None, occurred_at: int | None = None,
                   valid_until: int | None = None, expires_at: int | None = None,
                   space: SpaceArg = None) -> AddResult:
        """Remember one durable fact about the user (one fact per memory). tags: short labels;
        scope: a project or conversation name to keep it out of other projects' chats (omit for global).
        Times are Unix seconds: occurred_at, when it happened; valid_until, from when it no longer holds;
        expires_at, when it is deleted (an appointment's day, say). If an equal memory exists in that
        scope, nothing is stored and the error names it [duplicate_memory]: update that one instead."""
        times = {k: v for k, v in (("occurred_at", occurred_at), ("valid_until", valid_until),
                                   ("expires_at", expires_at)) if v is not None}
        created = memories.create(tool.owner(ctx, space, "write"), content, metadata, tags=tags, scope=scope,
                                  times=times, by=tool.by(ctx))
        return AddResult(memory=memory_out(created.memory))

    @tool
    def batch_add_memories(ctx: Context, memories: list[NewMemory], space: SpaceArg = None) -> BatchAddResult:
        """Remember several facts at once, all or nothing: if one is invalid, none is stored and the
        error names it (e.g. memories[3].content); so is a memory equal to a stored one [duplicate_memory]."""
        created = services.memories.create_batch(tool.owner(ctx, space, "write"),
                                                 [m.model_dump() for m in memories], by=tool.by(ctx))
        return BatchAddResult(results=[AddResult(memory=memory_out(c.memory)) for c in created])

    @tool
    def search_memories(ctx: Context, query: str, limit: int | None = None,
                        mode: Literal["hybrid", "semantic", "keyword"] | None = None,
                        tags: list[str] | None = None,
                        scope: str | None = None, created_after: int | None = None,
                        created_before: int | None = None, updated_after: int | None = None,
                        updated_before: int | None = None, source: Source | None = None,
                        occurred_after: int | None = None, occurred_before: int | None = None,
                        as_of: int | None = None, include_invalid: bool | None = None,
                        space: SpaceArg = None) -> SearchResult:
        """Find the user's memories relevant to a query, best first, with scores. mode: hybrid (by meaning and
        keywords fused; the default where available), semantic (by meaning: finds "allergic to peanuts" for
        "can I eat satay?"), or keyword (BM25 over English word stems). Filters: tags (all must match), scope
        ('global' for memories without one), created/updated/occurred ranges in Unix seconds, source (where the
        latest version came from: api, mcp, import, auto), as_of (what held at that time), include_invalid
        (memories that no longer hold too; default false). limit: page size (server default when omitted)."""
        filters = services.rules.filters(tags, scope, created_after, created_before, updated_after, updated_before,
                                         source, occurred_after, occurred_before, as_of, include_invalid)
        found = services.search.search(tool.owner(ctx, space), query, limit=limit, filters=filters, mode=mode)
        return SearchResult(memories=[ScoredMemoryOut(**memory_out(f.memory).model_dump(), score=f.score)
                                      for f in found.items], has_more=found.has_more, mode=found.mode)

    @tool
    def list_memories(ctx: Context, limit: int | None = None, order: Literal["desc", "asc"] = "desc",
                      after: str | None = None, before: str | None = None, tags: list[str] | None = None,
                      scope: str | None = None, created_after: int | None = None,
                      created_before: int | None = None, updated_after: int | None = None,
                      updated_before: int | None = None, source: Source | None = None,
                      occurred_after: int | None = None, occurred_before: int | None = None,
                      as_of: int | None = None, include_invalid: bool | None = None,
                      space: SpaceArg = None) -> MemoryPage:
        """List the user's memories, newest first by default, one page at a time: pass next_cursor back as
        `after` for the next page. Same filters as search_memories (include_invalid defaults to true here)."""
        filters = services.rules.filters(tags, scope, created_after, created_before, updated_after, updated_before,
                                         source, occurred_after, occurred_before, as_of, include_invalid)
        page = memories.list(tool.owner(ctx, space), limit=limit, order=order, after=after, before=before,
                             filters=filters)
        return MemoryPage(memories=[memory_out(m) for m in page.items], has_more=page.has_more,
                          next_cursor=page.items[-1].id if page.has_more and page.items else None)

    register_by_id(tool)


def register_by_id(tool) -> None:
    """The tools that act on one memory by its id: get, update, delete, revert, restore, history. The memory
    is found among the user's own and their spaces' (or in the `space` named), as REST finds it."""
    memories = tool.services.memories

    @tool
    def get_memory(ctx: Context, memory_id: str, space: SpaceOfMemory = None) -> MemoryOut:
        """One memory by id (mem_...)."""
        return memory_out(memories.get(tool.holder(ctx, memory_id, space), memory_id))

    @tool
    def update_memory(ctx: Context, memory_id: str, content: str | None = None,
                      tags: list[str] | None = None, scope: str | None = None, make_global: bool = False,
                      metadata: dict[str, str] | None = None, occurred_at: int | None = None,
                      valid_until: int | None = None, expires_at: int | None = None,
                      clear_times: list[Literal["occurred_at", "valid_until", "expires_at"]] | None = None,
                      expected_revision: int | None = None, space: SpaceOfMemory = None) -> MemoryOut:
        """Change a memory: give only what changes (tags and metadata are replaced whole). scope moves it
        to a scope; make_global=true takes it out of its scope. Times as in add_memory; clear_times names
        those to unset (valid_until, to say it holds again). With expected_revision (the revision you
        read), the update happens only if nobody changed the memory since; otherwise you get an error and
        should re-read it."""
        changes: dict[str, Any] = {k: v for k, v in (("content", content), ("tags", tags), ("scope", scope),
                                                     ("metadata", metadata), ("occurred_at", occurred_at),
                                                     ("valid_until", valid_until), ("expires_at", expires_at))
                                   if v is not None}
        changes.update({name: None for name in clear_times or ()})
        if make_global:
            if scope is not None:
                raise ToolError("Give scope or make_global=true, not both. (parameter: scope) [invalid_scope]")
            changes["scope"] = None
        return memory_out(memories.update(tool.holder(ctx, memory_id, space, "write"), memory_id, changes,
                                          expected_versions=_versions(expected_revision), by=tool.by(ctx)))

    @tool
    def delete_memory(ctx: Context, memory_id: str, expected_revision: int | None = None,
                      space: SpaceOfMemory = None) -> Deleted:
        """Delete a memory (restore_memory can undo it for a while). With expected_revision, only if
        unchanged since."""
        memories.delete(tool.holder(ctx, memory_id, space, "write"), memory_id,
                        expected_versions=_versions(expected_revision), by=tool.by(ctx))
        return Deleted(id=memory_id, deleted=True)

    @tool
    def revert_memory(ctx: Context, memory_id: str, revision: int, expected_revision: int | None = None,
                      space: SpaceOfMemory = None) -> MemoryOut:
        """Restore a previous version of a memory (a revision from get_memory_history) as a new revision;
        the version it replaces goes to history, so the revert can itself be reverted."""
        owner = tool.holder(ctx, memory_id, space, "write")
        return memory_out(memories.revert(owner, memory_id, revision, by=tool.by(ctx),
                                          expected_versions=_versions(expected_revision)))

    @tool
    def restore_memory(ctx: Context, memory_id: str, space: SpaceOfMemory = None) -> MemoryOut:
        """Undo the delete of a memory (kept for MEMORY_API_DELETED_RETENTION_SECONDS after it): it comes
        back with its id and history, as a new revision."""
        owner = tool.holder(ctx, memory_id, space, "write", deleted_too=True)
        return memory_out(memories.restore(owner, memory_id, by=tool.by(ctx)))

    @tool
    def get_memory_history(ctx: Context, memory_id: str, space: SpaceOfMemory = None) -> History:
        """A memory's previous versions, newest first (how it read before each update)."""
        versions = memories.history(tool.holder(ctx, memory_id, space), memory_id)
        return History(memory_id=memory_id, versions=[memory_out(v) for v in versions])
