"""Structured outputs of the MCP tools (their JSON Schemas are the tools' output schemas), and the inputs
several tools share."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, Field, create_model

from ..memory_object import INTEGER, MCP, SOURCE, STRING, STRING_LIST, STRING_MAP, MemoryField, fields_in
from ..models import Memory

# models.SOURCES, spelt out so that a type checker can read it (tests/test_provenance.py and
# tests/test_memory_object.py check that it is exactly SOURCES).
Source = Literal["api", "mcp", "import", "auto"]

# The `space` argument of the memory tools, described once (the description is part of the input schema).
SpaceArg = Annotated[str | None, Field(description=(
    "A shared space's id (space_..., from list_spaces): its memories instead of the user's own. Omit for the "
    "user's own."))]
SpaceOfMemory = Annotated[str | None, Field(description=(
    "The shared space holding the memory; omit to find it among the user's own memories and their spaces'."))]
SpacesArg = Annotated[list[str] | None, Field(description=(
    "Shared spaces to add memories from ([] for none); omit for the user's default ones (inject on)."))]

# The type of each kind of memory field (memory_api/memory_object.py) in the MCP outputs. The MCP view has
# no `origin`, so ORIGIN has none: should the view ever gain one, building MemoryOut fails (KeyError).
_FIELD_TYPES: dict[str, Any] = {STRING: str, INTEGER: int, STRING_MAP: dict[str, str], STRING_LIST: list[str],
                                SOURCE: Source}


def _memory_out_field(field: MemoryField) -> tuple[Any, Any]:
    """A field of the memory object (memory_api/memory_object.py) as a pydantic field of MemoryOut."""
    annotation = _FIELD_TYPES[field.kind]
    return (annotation | None if field.nullable else annotation), Field(description=field.description)


# A memory as the MCP tools give it: the one description's MCP view.
if TYPE_CHECKING:
    class MemoryOut(BaseModel):
        """What a type checker sees of the model built below: its fields are known only at run time."""

        def __getattr__(self, name: str) -> Any: ...
else:
    MemoryOut = create_model("MemoryOut", **{field.name: _memory_out_field(field) for field in fields_in(MCP)})


def memory_out(memory: Memory) -> MemoryOut:
    """A memory as the MCP tools give it: its values as the REST object has them, or as `memory` holds
    them where the REST object has none (`revision`)."""
    api = memory.to_api()
    return MemoryOut(**{name: api[name] if name in api else getattr(memory, name)
                        for name in MemoryOut.model_fields})


class AddResult(BaseModel):
    memory: MemoryOut = Field(description="The memory as stored (always a new one)")


class BatchAddResult(BaseModel):
    results: list[AddResult]


class NewMemory(BaseModel):
    content: str
    tags: list[str] | None = None
    scope: str | None = None
    metadata: dict[str, str] | None = None
    occurred_at: int | None = None
    valid_until: int | None = None
    expires_at: int | None = None


class ScoredMemoryOut(MemoryOut):
    score: float


class SearchResult(BaseModel):
    memories: list[ScoredMemoryOut]
    has_more: bool
    mode: str = Field(description="The mode the ranking ran in: hybrid, semantic or keyword")


class MemoryPage(BaseModel):
    memories: list[MemoryOut]
    has_more: bool
    next_cursor: str | None = Field(description="Pass as `after` for the next page (null: no more)")


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
    oldest_id: str | None
    newest_id: str | None


class TagCount(BaseModel):
    tag: str
    count: int


class Tags(BaseModel):
    tags: list[TagCount]


class Exported(BaseModel):
    count: int
    jsonl: str = Field(description="The export: a format line, then one memory per line (JSON Lines)")


class ChatMessage(BaseModel):
    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str


class OperationOut(BaseModel):
    action: Literal["add", "update", "delete"]
    memory_id: str | None
    content: str | None
    reason: str
    occurred_at: int | None = Field(default=None, description="add: when it happened, else when it was said")
    expires_at: int | None = Field(default=None, description="add: the end of the last day it matters on")
    supersedes: str | None = Field(default=None, description="add: the memory it ends (valid_until set)")
    status: Literal["applied", "suggested", "skipped"] | None = Field(
        default=None, description="With apply: what became of it (suggested: the user wrote that memory)")
    suggestion_id: str | None = None
    detail: str | None = None


class ExtractionOut(BaseModel):
    applied: bool
    operations: list[OperationOut]


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
    mode: str = Field(description="How relevance was judged: hybrid, semantic or keyword")


class SpaceOut(BaseModel):
    id: str
    name: str
    role: Literal["reader", "writer", "admin"] = Field(description="The user's role in it")
    inject: bool = Field(description="Whether its memories go into the user's chats by default")
    created_at: int
    created_by: str


class SpaceList(BaseModel):
    spaces: list[SpaceOut]


class MemberOut(BaseModel):
    user: str
    role: Literal["reader", "writer", "admin"]
    inject: bool
    added_at: int


class MemberList(BaseModel):
    space: str
    members: list[MemberOut]


class MemberRemoved(BaseModel):
    space: str
    user: str
    removed: bool
