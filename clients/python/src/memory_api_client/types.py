"""The objects memory-api answers with, as the openai SDK's pydantic models (openapi.yaml's schemas).

Like the SDK's own types they are built without validation, so a field a newer server adds is kept
(as an extra attribute) rather than refused. Memory and MemoryVersion are written out, for type checkers
to read; tests/test_memory_object.py checks them against the server's one description of a memory
(memory_api/memory_object.py) field by field.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from openai import BaseModel
from typing_extensions import TypedDict

Source = Literal["api", "mcp", "import", "auto"]
EventSource = Literal["api", "mcp", "import", "auto", "expiry"]  # "expiry": deleted at its expires_at
SearchMode = Literal["hybrid", "semantic", "keyword"]
Role = Literal["reader", "writer", "admin"]  # a member's role in a shared space

__all__ = [
    "CaptureJob",
    "ExtractedOperation",
    "Extraction",
    "ImportResult",
    "Memory",
    "MemoryBatch",
    "MemoryBatchDeleted",
    "MemoryContext",
    "MemoryDeleted",
    "MemoryDeletedAll",
    "MemoryEvent",
    "MemoryHistory",
    "MemoryOptions",
    "MemoryReport",
    "MemorySearchResult",
    "MemoryStats",
    "MemoryVersion",
    "Origin",
    "Preferences",
    "Role",
    "ScoredMemory",
    "SearchMode",
    "Source",
    "Space",
    "SpaceDeleted",
    "SpaceMember",
    "SpaceMemberDeleted",
    "Suggestion",
    "SuggestionList",
    "TagList",
    "memory_report",
]


class Origin(BaseModel):
    """The conversation turn an automatic memory came from."""

    conversation_id: str
    turn: int | None = None


class Memory(BaseModel):
    """A memory object (`object: "memory"`)."""

    id: str
    object: Literal["memory"]
    content: str
    metadata: dict[str, str]
    created_at: int
    updated_at: int
    word_count: int
    token_count: int
    tags: list[str]
    scope: str | None = None
    source: Source
    origin: Origin | None = None
    reason: str | None = None
    occurred_at: int | None = None
    valid_until: int | None = None
    expires_at: int | None = None
    supersedes: str | None = None  # the memory this one replaced (capture: a fact that ended it)
    space: str | None = None  # the shared space it belongs to (None: the user's own memory)
    author: str | None = None  # the user who wrote this version (None: written before authors were kept)
    # Not a field of the object: the ETag header of the answer that carried it (create, retrieve,
    # update, revert), for `if_match=`. None in lists, which carry no ETag per memory.
    etag: str | None = None


class ScoredMemory(Memory):
    """A memory in search results, with its relevance."""

    score: float


class MemorySearchResult(BaseModel):
    """POST /v1/memory/search: the best matches, best first, and the ranking that ran."""

    object: Literal["list"]
    data: list[ScoredMemory]
    first_id: str | None = None
    last_id: str | None = None
    has_more: bool
    mode: SearchMode


class MemoryDeleted(BaseModel):
    id: str
    object: Literal["memory.deleted"]
    deleted: bool  # in a batch delete, False: there was no such memory


class MemoryBatch(BaseModel):
    """POST /v1/memory/batch: the memories created, in the order given."""

    object: Literal["list"]
    data: list[Memory]
    has_more: bool


class MemoryBatchDeleted(BaseModel):
    """POST /v1/memory/batch_delete: each id's outcome."""

    object: Literal["list"]
    data: list[MemoryDeleted]
    has_more: bool


class MemoryDeletedAll(BaseModel):
    object: Literal["memory.deleted_all"]
    deleted_count: int


class MemoryContext(BaseModel):
    """POST /v1/memory/context: the memory block chat would inject."""

    object: Literal["memory.context"]
    text: str
    memory_ids: list[str]
    word_count: int
    token_count: int
    omitted_count: int
    mode: SearchMode


class MemoryVersion(BaseModel):
    """A previous version of a memory (its history)."""

    id: str
    object: Literal["memory.version"]
    revision: int
    content: str
    metadata: dict[str, str]
    tags: list[str]
    scope: str | None = None
    updated_at: int
    source: Source
    reason: str | None = None
    occurred_at: int | None = None
    valid_until: int | None = None
    expires_at: int | None = None
    supersedes: str | None = None  # the memory this one replaced (capture: a fact that ended it)
    author: str | None = None  # the user who wrote this version (None: written before authors were kept)


class MemoryHistory(BaseModel):
    object: Literal["list"]
    data: list[MemoryVersion]
    has_more: bool


class MemoryEvent(BaseModel):
    """One entry of the activity feed: a create, update or delete (or a shared space deleted)."""

    id: str
    object: Literal["memory.event"]
    type: Literal["memory.created", "memory.updated", "memory.deleted", "space.deleted"]
    memory_id: str | None = None  # None for space.deleted
    revision: int
    source: EventSource
    actor: str | None = None
    author: str | None = None  # the user who wrote
    space: str | None = None  # space.deleted: the space
    reason: str | None = None
    origin: Origin | None = None
    created_at: int


class ImportResult(BaseModel):
    object: Literal["memory.import"]
    created: int
    overwritten: int
    skipped: int
    total: int


class MemoryStats(BaseModel):
    object: Literal["memory.stats"]
    count: int
    words: int
    tokens: int
    tags: int
    scopes: int
    capture_tokens: int
    oldest: dict[str, Any] | None = None
    newest: dict[str, Any] | None = None


class TagCount(BaseModel):
    tag: str
    count: int


class TagList(BaseModel):
    object: Literal["list"]
    data: list[TagCount]
    has_more: bool


class ExtractedOperation(BaseModel):
    """An operation the capture model proposed; with `apply`, what became of it."""

    action: Literal["add", "update", "delete"]
    memory_id: str | None = None
    content: str | None = None
    reason: str
    occurred_at: int | None = None  # add: when it happened, else when it was said
    expires_at: int | None = None  # add: the end of the last day it matters on
    supersedes: str | None = None  # add: the memory it ends (valid_until set, or suggested)
    status: Literal["applied", "suggested", "skipped"] | None = None
    memory: Memory | None = None
    suggestion_id: str | None = None
    detail: str | None = None


class Extraction(BaseModel):
    object: Literal["memory.extraction"]
    applied: bool
    operations: list[ExtractedOperation]
    results: list[ExtractedOperation] | None = None


class Suggestion(BaseModel):
    """A change capture proposed to a memory the user wrote: accept or dismiss it."""

    id: str
    object: Literal["memory.suggestion"]
    action: Literal["update", "delete", "supersede", "add"]
    memory_id: str | None = None  # None for add: a new memory capture held back for the user
    content: str | None = None
    reason: str
    revision: int | None = None
    valid_until: int | None = None  # supersede: what accepting sets
    superseded_by: str | None = None  # supersede: the captured memory that ended it
    origin: Origin | None = None
    created_at: int


class SuggestionList(BaseModel):
    object: Literal["list"]
    data: list[Suggestion]
    has_more: bool


class Preferences(BaseModel):
    object: Literal["memory.preferences"]
    capture: bool | None = None
    capture_default: bool


class CaptureJob(BaseModel):
    id: str
    object: Literal["memory.capture_job"]
    state: Literal["queued", "running", "retrying", "done", "failed", "skipped"]
    attempts: int
    created_at: int
    updated_at: int
    results: list[ExtractedOperation] | None = None
    error: str | None = None
    reason: str | None = None  # skipped: "nothing to remember", or "the user turned capture off"


class Space(BaseModel):
    """A shared space (`object: "space"`), as the caller sees it: with their own role and inject switch."""

    id: str
    object: Literal["space"]
    name: str
    created_at: int
    created_by: str
    user: str  # the caller: the member whose role and inject these are
    role: Role
    inject: bool  # whether its memories go into the caller's chats when a request names no `spaces`


class SpaceDeleted(BaseModel):
    id: str
    object: Literal["space.deleted"]
    deleted: bool
    memories_deleted: int


class SpaceMember(BaseModel):
    """A member of a shared space (`object: "space.member"`)."""

    object: Literal["space.member"]
    space: str
    user: str
    role: Role
    inject: bool
    added_at: int


class SpaceMemberDeleted(BaseModel):
    object: Literal["space.member.deleted"]
    space: str
    user: str
    deleted: bool


class MemoryOptions(TypedDict, total=False):
    """Chat's and Responses' per-request memory options: `extra_body={"memory": MemoryOptions(...)}`."""

    inject: bool  # False: leave memories out of this request
    max_words: int  # lower the word cap (never above the server's)
    max_tokens: int  # lower the token cap
    mode: SearchMode  # how memories are ranked for this request
    scope: str  # inject the global memories plus this scope's
    spaces: list[str]  # also inject from these shared spaces ([] for none; absent: those with inject on)
    capture: bool  # chat completions: capture memories from this turn once answered (a job)


class MemoryReport(BaseModel):
    """What a chat completion or response injected (its `memory` field, or the x-memory-* headers)."""

    injected_ids: list[str]
    word_count: int
    token_count: int
    omitted_count: int
    mode: SearchMode | None = None  # not in the headers of a stream
    capture_job: str | None = None  # the capture job queued for this turn, when capture is on


def memory_report(answer: Any) -> MemoryReport | None:
    """The memory report of a chat completion or response (`.memory`), or of a response's headers
    (`x-memory-*`, where a stream carries it, e.g. `stream.response.headers`); None when there is none."""
    if isinstance(answer, Mapping) and "x-memory-injected-ids" in answer:
        ids = answer["x-memory-injected-ids"]
        return MemoryReport(
            injected_ids=[i for i in ids.split(",") if i], word_count=int(answer["x-memory-word-count"]),
            token_count=int(answer["x-memory-token-count"]), omitted_count=int(answer["x-memory-omitted-count"]),
            capture_job=answer.get("x-memory-capture-job"))
    report = getattr(answer, "memory", None)
    if report is None and isinstance(getattr(answer, "model_extra", None), dict):
        report = answer.model_extra.get("memory")
    if isinstance(report, MemoryReport):
        return report
    return MemoryReport.model_validate(dict(report)) if isinstance(report, Mapping) else None
