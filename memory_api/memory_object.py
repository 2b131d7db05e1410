"""The memory object: the one description of its fields, and of which view shows each.

A memory is shown in three views:

- API: the REST API's memory object (`"object": "memory"`): what Memory.to_api writes, what the
  responses' schema documents, and what the Python client's `types.Memory` reads (search results add
  a `score`);
- HISTORY: a previous version in a memory's history (`"object": "memory.version"`);
- MCP: the MCP tools' MemoryOut, which gives the `revision` (for `expected_revision`) where REST gives
  an ETag, and leaves out `origin`.

The REST schema of the memory object (api/schemas/common.py, and so openapi.yaml) and the MCP output
model (mcp/outputs.py) are built from FIELDS. What is written by hand, Memory.to_api and the history rows
(kept plain for speed), the history's schema and the client's types (which a type checker must be able
to read), is checked against FIELDS field by field by tests/test_memory_object.py. To add a field to
memories: add it here, then wherever that test points.
"""

from __future__ import annotations

from dataclasses import dataclass

from .ids import MEMORY_ID_PATTERN, SPACE_ID_PATTERN

API, HISTORY, MCP = "api", "history", "mcp"
VIEWS = (API, HISTORY, MCP)

# The `object` each REST view carries (MCP's outputs carry none).
OBJECT = {API: "memory", HISTORY: "memory.version"}

# What a field holds: the same JSON in every view.
STRING = "string"
INTEGER = "integer"
STRING_MAP = "string_map"  # an object whose values are strings (metadata)
STRING_LIST = "string_list"  # an array of strings (tags)
SOURCE = "source"  # a string, one of models.SOURCES
ORIGIN = "origin"  # {"conversation_id": string, "turn": integer or null} (Provenance.origin)
KINDS = (STRING, INTEGER, STRING_MAP, STRING_LIST, SOURCE, ORIGIN)


@dataclass(frozen=True)
class MemoryField:
    """One field of the memory object: what it holds, whether it may be null, what it means, and the
    views that show it (every view shows every field it has, null or not)."""

    name: str
    kind: str  # one of KINDS
    views: tuple[str, ...] = VIEWS
    nullable: bool = False
    description: str | None = None
    pattern: str | None = None  # a string's, as the REST schema documents it


FIELDS = (
    MemoryField("id", STRING, pattern=MEMORY_ID_PATTERN),
    MemoryField("content", STRING),
    MemoryField("metadata", STRING_MAP),
    MemoryField("created_at", INTEGER, (API, MCP), description="Unix seconds."),
    MemoryField("updated_at", INTEGER, description="Unix seconds."),
    MemoryField("revision", INTEGER, (HISTORY, MCP),
                description="Pass as expected_revision to update/delete only this version"),
    MemoryField("word_count", INTEGER, (API, MCP), description="Whitespace-separated words."),
    MemoryField("token_count", INTEGER, (API, MCP), description="Tokens (tiktoken o200k_base)."),
    MemoryField("tags", STRING_LIST),
    MemoryField("scope", STRING, nullable=True, description="null: a global memory."),
    MemoryField("source", SOURCE, description=(
        "Where this version came from: `api` (the REST API or the CLI), `mcp`, `import`, or `auto` (the "
        "service captured it from a conversation).")),
    MemoryField("origin", ORIGIN, (API,), nullable=True,
                description="The conversation turn an automatic memory came from; null otherwise."),
    MemoryField("reason", STRING, nullable=True, description=(
        "Why this version was written, when the service wrote it on its own (or a revert did); null "
        "otherwise.")),
    MemoryField("occurred_at", INTEGER, nullable=True, description=(
        "When what it says happened or was said (Unix seconds); null: unknown.")),
    MemoryField("valid_until", INTEGER, nullable=True, description=(
        "From when it no longer holds (Unix seconds: superseded, ended); null: it still holds. Past it, "
        "a memory stays stored, listed and in history, and is not injected unless asked for.")),
    MemoryField("expires_at", INTEGER, nullable=True, description=(
        "When the service deletes it (Unix seconds); null: never. From that second it is never returned "
        "or injected, and the deletion is in the activity feed (source `expiry`).")),
    MemoryField("supersedes", STRING, nullable=True, pattern=MEMORY_ID_PATTERN, description=(
        "The memory this one replaced, when capture found that a new fact ended an old one (that one's "
        "valid_until was set, or suggested, instead of deleting it); null otherwise.")),
    MemoryField("space", STRING, (API, MCP), nullable=True, pattern=SPACE_ID_PATTERN, description=(
        "The shared space it belongs to; null: the user's own memory.")),
    MemoryField("author", STRING, nullable=True, description=(
        "The user who wrote this version (a user id, never a key's); null for versions written before "
        "authors were kept.")),
)

def fields_in(view: str) -> tuple[MemoryField, ...]:
    """The fields `view` shows, in the order it shows them."""
    if view not in VIEWS:
        raise ValueError(f"no such view of a memory: {view!r}")
    return tuple(field for field in FIELDS if view in field.views)


def field_named(name: str) -> MemoryField:
    """The field called `name`."""
    return next(field for field in FIELDS if field.name == name)
