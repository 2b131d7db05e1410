"""MCP tools for the whole store of a user (or with `space`, of a shared space): stats, tags, export, import,
clear; extraction and the context block."""

from __future__ import annotations

from typing import Literal

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError

from .outputs import (
    ChatMessage,
    Cleared,
    ContextOut,
    Exported,
    ExtractionOut,
    Imported,
    OperationOut,
    SpaceArg,
    SpacesArg,
    Stats,
    TagCount,
    Tags,
)


def register(tool) -> None:
    """Add the tools to `tool` (a ToolRegistry)."""
    services = tool.services

    @tool
    def memory_stats(ctx: Context, space: SpaceArg = None) -> Stats:
        """How many memories, words and tokens the user has, distinct tags and scopes, oldest and newest."""
        s = services.stats.stats(tool.owner(ctx, space))
        return Stats(count=s["count"], words=s["words"], tokens=s["tokens"], tags=s["tags"], scopes=s["scopes"],
                     oldest_id=(s["oldest"] or {}).get("id"), newest_id=(s["newest"] or {}).get("id"))

    @tool
    def list_tags(ctx: Context, space: SpaceArg = None) -> Tags:
        """Every tag on the user's memories with how many memories carry it, most used first."""
        return Tags(tags=[TagCount(tag=t["tag"], count=t["count"])
                          for t in services.stats.tags(tool.owner(ctx, space))])

    @tool
    def export_memories(ctx: Context, space: SpaceArg = None) -> Exported:
        """Every memory of the user, with history, as JSON Lines (a backup import_memories can read). A
        space's: its admins only."""
        lines = list(services.portability.export_lines(tool.owner(ctx, space, "admin")))
        return Exported(count=len(lines) - 1, jsonl="".join(lines))

    @tool
    def import_memories(ctx: Context, jsonl: str, on_conflict: Literal["skip", "overwrite"] = "skip",
                        space: SpaceArg = None) -> Imported:
        """Import an export (JSON Lines). Ids that exist are skipped or overwritten (on_conflict). Every
        line is checked first; if one is bad, nothing is written and the error names the line. Into a
        space: its admins only."""
        result = services.portability.import_data(tool.owner(ctx, space, "admin"), jsonl, on_conflict=on_conflict,
                                                  actor=tool.by(ctx).actor, author=tool.by(ctx).author)
        return Imported(**{k: result[k] for k in ("total", "created", "overwritten", "skipped")})

    @tool
    def clear_memories(ctx: Context, confirm: bool = False, space: SpaceArg = None) -> Cleared:
        """Delete ALL of the user's memories (or with space, all of that space's: its admins only),
        permanently. Only with confirm=true, and only when the user explicitly asked to forget everything."""
        owner = tool.owner(ctx, space, "admin")
        if confirm is not True:
            raise ToolError("Nothing was deleted: clear_memories needs confirm=true, and only on the user's "
                            "explicit request to delete every memory.")
        return Cleared(deleted_count=services.memories.delete_all(owner, by=tool.by(ctx)))

    register_extract_and_context(tool)


def register_extract_and_context(tool) -> None:
    """The tools that read a conversation or prepare one: extract_memories and get_context."""
    services = tool.services

    @tool
    def extract_memories(ctx: Context, messages: list[ChatMessage], apply: bool = False,
                         scope: str | None = None, occurred_at: int | None = None) -> ExtractionOut:
        """Ask the capture model which durable facts about the user a conversation reveals, compared with
        their most similar memories: add / update / delete operations with reasons. apply=true carries them
        out (source auto); an update or delete of a memory the user wrote becomes a pending suggestion.
        scope: the conversation's scope (candidates: global memories and that scope's; additions go there).
        occurred_at: when the conversation took place (Unix seconds; default now): relative dates in it are
        resolved against that day. A fact that ends an automatic memory sets that one's valid_until."""
        extraction = services.capture.extract(tool.user(ctx), [m.model_dump() for m in messages], scope=scope,
                                              occurred_at=occurred_at, apply=apply, by=tool.by(ctx))
        rows = [o.to_api() for o in (extraction.outcomes if extraction.applied else extraction.operations)]
        return ExtractionOut(applied=extraction.applied, operations=[
            OperationOut(**{k: row.get(k) for k in OperationOut.model_fields if k in row}) for row in rows])

    @tool
    def get_context(ctx: Context, query: str | None = None, max_words: int | None = None,
                    max_tokens: int | None = None, scope: str | None = None,
                    model: str | None = None,
                    mode: Literal["hybrid", "semantic", "keyword"] | None = None,
                    occurred_after: int | None = None, occurred_before: int | None = None,
                    as_of: int | None = None, include_invalid: bool | None = None,
                    spaces: SpacesArg = None) -> ContextOut:
        """The memory block a chat would inject for this query: the memories relevant to it, most relevant
        first (ranked in `mode`, as search_memories), or without a query the newest, under a word and a token
        cap (at most the server's), never cutting a memory. scope: add that scope's memories to the global
        ones. Time filters as in search_memories. Shared memories are marked with their space and writer."""
        times = {"occurred_after": occurred_after, "occurred_before": occurred_before, "as_of": as_of,
                 "include_invalid": include_invalid}
        selection = services.context.preview(tool.user(ctx), model=model, query=query, scope=scope, mode=mode,
                                             caps={"max_words": max_words, "max_tokens": max_tokens}, times=times,
                                             spaces=spaces)
        data = selection.to_api()
        return ContextOut(**{k: data[k] for k in ("text", "memory_ids", "word_count", "token_count",
                                                   "omitted_count", "mode")})
