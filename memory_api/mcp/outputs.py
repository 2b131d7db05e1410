"""Structured outputs of the MCP tools (their JSON Schemas are the tools' output schemas)."""

from __future__ import annotations

from typing import Literal, Optional

from pydantic import BaseModel, Field

from ..models import Memory

Source = Literal["api", "mcp", "import", "auto"]  # memory_api.models.SOURCES

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
    source: Source = Field(description="Where this version came from: api, mcp, import, or auto (captured "
                                       "from a conversation)")
    reason: Optional[str] = Field(default=None, description="Why the service wrote this version, if it did")


def memory_out(memory: Memory) -> MemoryOut:
    return MemoryOut(id=memory.id, content=memory.content, metadata=memory.metadata, tags=list(memory.tags),
                     scope=memory.scope, created_at=memory.created_at, updated_at=memory.updated_at,
                     revision=memory.revision, word_count=memory.word_count, token_count=memory.token_count,
                     source=memory.source, reason=memory.reason)


class AddResult(BaseModel):
    memory: MemoryOut = Field(description="The memory as stored (always a new one)")


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
    mode: str = Field(description="The mode the ranking ran in: hybrid, semantic or keyword")


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


class ChatMessage(BaseModel):
    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str


class OperationOut(BaseModel):
    action: Literal["add", "update", "delete"]
    memory_id: Optional[str]
    content: Optional[str]
    reason: str
    status: Optional[Literal["applied", "suggested", "skipped"]] = Field(
        default=None, description="With apply: what became of it (suggested: the user wrote that memory)")
    suggestion_id: Optional[str] = None
    detail: Optional[str] = None


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
