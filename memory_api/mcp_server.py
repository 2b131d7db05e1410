"""The MCP server: the same memories, as tools for AI clients (Claude Desktop, Cursor, ...).

Every tool calls the same services as the REST API, so limits, quotas,
duplicates and scopes behave identically; no rule is written twice here.
Over stdio the server acts for one user (`--user`); over streamable HTTP each
request carries an API key (`Authorization: Bearer`, and `X-Memory-User` with
a service key), checked like REST's.
"""

from __future__ import annotations

import functools
from typing import Any, Callable, Literal, Optional

import anyio
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ResourceError, ToolError
from pydantic import BaseModel, Field

from .auth import USER_HEADER
from .context import resolve_caps
from .errors import ApiError
from .memories import check_filters
from .models import Memory
from .services import Services
from .store.redis import UNAVAILABLE_ERRORS
from .validation import check_scope

INSTRUCTIONS = (
    "Long-term memory about the user. Search it (search_memories) before answering questions about the "
    "user's life, preferences or projects; store durable facts the user wants remembered (add_memory), one "
    "fact per memory; update a memory rather than adding a contradicting one. get_context returns the block a "
    "chat would inject for a question."
)


# --- structured outputs ---------------------------------------------------------------


class MemoryOut(BaseModel):
    id: str
    content: str
    metadata: dict[str, str]
    tags: list[str]
    scope: Optional[str] = Field(description="null: a global memory")
    created_at: int
    updated_at: int
    revision: int = Field(description="Pass as expected_revision to update/delete only this version")
    word_count: int
    token_count: int


def memory_out(memory: Memory) -> MemoryOut:
    return MemoryOut(id=memory.id, content=memory.content, metadata=memory.metadata, tags=list(memory.tags),
                     scope=memory.scope, created_at=memory.created_at, updated_at=memory.updated_at,
                     revision=memory.revision, word_count=memory.word_count, token_count=memory.token_count)


class AddResult(BaseModel):
    memory: MemoryOut
    duplicate: bool = Field(description="true: an equal memory existed; it is returned and nothing was stored")


class BatchAddResult(BaseModel):
    results: list[AddResult]


class NewMemory(BaseModel):
    content: str
    tags: Optional[list[str]] = None
    scope: Optional[str] = None
    metadata: Optional[dict[str, str]] = None


class ScoredMemoryOut(MemoryOut):
    score: float


class SearchResult(BaseModel):
    memories: list[ScoredMemoryOut]
    has_more: bool


class MemoryPage(BaseModel):
    memories: list[MemoryOut]
    has_more: bool
    next_cursor: Optional[str] = Field(description="Pass as `after` for the next page (null: no more)")


class Deleted(BaseModel):
    id: str
    deleted: bool


class History(BaseModel):
    memory_id: str
    versions: list[MemoryOut] = Field(description="Previous versions, newest first")


class Stats(BaseModel):
    count: int
    words: int
    tokens: int
    tags: int
    scopes: int
    oldest_id: Optional[str]
    newest_id: Optional[str]


class TagCount(BaseModel):
    tag: str
    count: int


class Tags(BaseModel):
    tags: list[TagCount]


class Exported(BaseModel):
    count: int
    jsonl: str = Field(description="The export: a format line, then one memory per line (JSON Lines)")


class Imported(BaseModel):
    total: int
    created: int
    overwritten: int
    skipped: int


class Cleared(BaseModel):
    deleted_count: int


class ContextOut(BaseModel):
    text: str = Field(description="The block chat would inject ('' if none)")
    memory_ids: list[str]
    word_count: int
    token_count: int
    omitted_count: int


# --- the server ---------------------------------------------------------------------------


def build_mcp_server(services: Services, *, user: str | None = None) -> MCPServer:
    """The MCP server over `services`. With `user`, every call acts for that user (stdio);
    without, each request's Authorization / X-Memory-User headers say who (HTTP)."""
    server = MCPServer(name="memory-api", instructions=INSTRUCTIONS, version="1.0.0")
    memory_svc, search = services.memories, services.search

    def acting_user(ctx: Context) -> str:
        if user is not None:
            return user
        headers = ctx.headers or {}
        principal = services.keys.authenticate(headers.get("authorization"), headers.get(USER_HEADER.lower()))
        return principal.user_id

    def tool(fn: Callable[..., Any]):
        """Run a tool body in a thread (Redis calls block) and turn our errors into tool errors."""

        @functools.wraps(fn)
        async def wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                return await anyio.to_thread.run_sync(functools.partial(fn, *args, **kwargs))
            except ApiError as err:
                hint = f" (parameter: {err.param})" if err.param else ""
                raise ToolError(f"{err.message}{hint} [{err.code or err.type}]") from None
            except UNAVAILABLE_ERRORS:
                raise ToolError("The memory store is unavailable right now; try again in a moment.") from None

        server.add_tool(wrapper, description=fn.__doc__)
        return wrapper

    @tool
    def add_memory(ctx: Context, content: str, tags: Optional[list[str]] = None, scope: Optional[str] = None,
                   metadata: Optional[dict[str, str]] = None) -> AddResult:
        """Remember one durable fact about the user (one fact per memory). tags: up to 20 short labels;
        scope: a project or conversation name to keep it out of other projects' chats (omit for global).
        If an equal memory exists in that scope, it is returned with duplicate=true and nothing is stored."""
        created = memory_svc.create(acting_user(ctx), content, metadata, tags=tags, scope=scope)
        return AddResult(memory=memory_out(created.memory), duplicate=created.duplicate)

    @tool
    def batch_add_memories(ctx: Context, memories: list[NewMemory]) -> BatchAddResult:
        """Remember up to 100 facts at once, all or nothing: if one is invalid, none is stored and the
        error names it (e.g. memories[3].content)."""
        created = memory_svc.create_batch(acting_user(ctx), [m.model_dump() for m in memories])
        return BatchAddResult(results=[AddResult(memory=memory_out(c.memory), duplicate=c.duplicate)
                                       for c in created])

    @tool
    def search_memories(ctx: Context, query: str, limit: int = 10, tags: Optional[list[str]] = None,
                        scope: Optional[str] = None, created_after: Optional[int] = None,
                        created_before: Optional[int] = None, updated_after: Optional[int] = None,
                        updated_before: Optional[int] = None) -> SearchResult:
        """Find the user's memories relevant to a query (full-text, BM25-ranked, best first, with scores).
        Words match case-insensitively; no stemming. Filters: tags (all must match), scope ('global' for
        memories without one), created/updated ranges in Unix seconds. limit: 1-100."""
        filters = check_filters(tags, scope, created_after, created_before, updated_after, updated_before)
        found = search.search(acting_user(ctx), query, limit=limit, filters=filters)
        return SearchResult(memories=[ScoredMemoryOut(**memory_out(f.memory).model_dump(), score=f.score)
                                      for f in found.items], has_more=found.has_more)

    @tool
    def list_memories(ctx: Context, limit: int = 20, order: Literal["desc", "asc"] = "desc",
                      after: Optional[str] = None, before: Optional[str] = None, tags: Optional[list[str]] = None,
                      scope: Optional[str] = None, created_after: Optional[int] = None,
                      created_before: Optional[int] = None, updated_after: Optional[int] = None,
                      updated_before: Optional[int] = None) -> MemoryPage:
        """List the user's memories, newest first by default, one page at a time: pass next_cursor back as
        `after` for the next page. Same filters as search_memories. limit: 1-100."""
        filters = check_filters(tags, scope, created_after, created_before, updated_after, updated_before)
        page = memory_svc.list(acting_user(ctx), limit=limit, order=order, after=after, before=before,
                             filters=filters)
        return MemoryPage(memories=[memory_out(m) for m in page.items], has_more=page.has_more,
                          next_cursor=page.items[-1].id if page.has_more and page.items else None)

    @tool
    def get_memory(ctx: Context, memory_id: str) -> MemoryOut:
        """One memory by id (mem_...)."""
        return memory_out(memory_svc.get(acting_user(ctx), memory_id))

    @tool
    def update_memory(ctx: Context, memory_id: str, content: Optional[str] = None,
                      tags: Optional[list[str]] = None, scope: Optional[str] = None,
                      metadata: Optional[dict[str, str]] = None,
                      expected_revision: Optional[int] = None) -> MemoryOut:
        """Change a memory: give only what changes (tags and metadata are replaced whole; scope 'global'
        makes it global). With expected_revision (the revision you read), the update happens only if
        nobody changed the memory since; otherwise you get an error and should re-read it."""
        changes: dict[str, Any] = {k: v for k, v in (("content", content), ("tags", tags),
                                                     ("metadata", metadata)) if v is not None}
        if scope is not None:
            changes["scope"] = None if scope == "global" else scope
        updated = memory_svc.update(acting_user(ctx), memory_id, changes,
                                  expected_revisions=None if expected_revision is None else [expected_revision])
        return memory_out(updated)

    @tool
    def delete_memory(ctx: Context, memory_id: str, expected_revision: Optional[int] = None) -> Deleted:
        """Delete a memory for good (its history too). With expected_revision, only if unchanged since."""
        memory_svc.delete(acting_user(ctx), memory_id,
                        expected_revisions=None if expected_revision is None else [expected_revision])
        return Deleted(id=memory_id, deleted=True)

    @tool
    def get_memory_history(ctx: Context, memory_id: str) -> History:
        """A memory's previous versions, newest first (how it read before each update)."""
        versions = memory_svc.history(acting_user(ctx), memory_id)
        return History(memory_id=memory_id, versions=[memory_out(v) for v in versions])

    @tool
    def memory_stats(ctx: Context) -> Stats:
        """How many memories, words and tokens the user has, distinct tags and scopes, oldest and newest."""
        s = search.stats(acting_user(ctx))
        return Stats(count=s["count"], words=s["words"], tokens=s["tokens"], tags=s["tags"], scopes=s["scopes"],
                     oldest_id=(s["oldest"] or {}).get("id"), newest_id=(s["newest"] or {}).get("id"))

    @tool
    def list_tags(ctx: Context) -> Tags:
        """Every tag on the user's memories with how many memories carry it, most used first."""
        return Tags(tags=[TagCount(tag=t["tag"], count=t["count"]) for t in search.tags(acting_user(ctx))])

    @tool
    def export_memories(ctx: Context) -> Exported:
        """Every memory of the user, with history, as JSON Lines (a backup import_memories can read)."""
        lines = list(services.portability.export_lines(acting_user(ctx)))
        return Exported(count=len(lines) - 1, jsonl="".join(lines))

    @tool
    def import_memories(ctx: Context, jsonl: str, on_conflict: Literal["skip", "overwrite"] = "skip") -> Imported:
        """Import an export (JSON Lines). Ids that exist are skipped or overwritten (on_conflict). Every
        line is checked first; if one is bad, nothing is written and the error names the line."""
        result = services.portability.import_lines(acting_user(ctx), jsonl.splitlines(), on_conflict=on_conflict)
        return Imported(**{k: result[k] for k in ("total", "created", "overwritten", "skipped")})

    @tool
    def clear_memories(ctx: Context, confirm: bool = False) -> Cleared:
        """Delete ALL of the user's memories, permanently. Only with confirm=true, and only when the user
        explicitly asked to forget everything."""
        if confirm is not True:
            raise ToolError("Nothing was deleted: clear_memories needs confirm=true, and only on the user's "
                            "explicit request to delete every memory.")
        return Cleared(deleted_count=memory_svc.delete_all(acting_user(ctx)))

    @tool
    def get_context(ctx: Context, query: Optional[str] = None, max_words: Optional[int] = None,
                    max_tokens: Optional[int] = None, scope: Optional[str] = None,
                    model: Optional[str] = None) -> ContextOut:
        """The memory block a chat would inject for this query: the most relevant memories first, then the
        newest, under a word and a token cap (at most the server's), never cutting a memory. scope: add that
        scope's memories to the global ones."""
        caps = resolve_caps({"max_words": max_words, "max_tokens": max_tokens},
                            server_max_words=services.settings.max_words,
                            server_max_tokens=services.settings.max_tokens)
        selection = services.context.build(acting_user(ctx), model=model, caps=caps, query=query or None,
                                           scope=check_scope(scope))
        data = selection.to_api()
        return ContextOut(**{k: data[k] for k in ("text", "memory_ids", "word_count", "token_count",
                                                   "omitted_count")})

    @server.resource("memory://memories/{memory_id}", name="memory", mime_type="text/plain",
                     description="One of the user's memories, by id: its content.")
    async def read_memory(memory_id: str, ctx: Context) -> str:
        try:
            found = await anyio.to_thread.run_sync(lambda: memory_svc.get(acting_user(ctx), memory_id))
        except ApiError as err:
            raise ResourceError(err.message) from None
        return found.content

    return server
