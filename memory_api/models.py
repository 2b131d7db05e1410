"""Plain data objects shared by the services and the store: memories, pages, filters, id ranges."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .ids import created_at_of

# Where a memory's latest version came from: the REST API (and the CLI), the MCP server, an import,
# or the service itself (automatic capture from a conversation).
SOURCES = ("api", "mcp", "import", "auto")
# What an entry of the activity feed may name as its source: a door, or the service deleting a memory
# past its expiry.
EVENT_SOURCES = (*SOURCES, "expiry")


@dataclass(frozen=True)
class Provenance:
    """Who makes a write: the door it came through (`source`), the API key that acted (`actor`, None
    where there is none, as over MCP's stdio), and for a change the service made on its own, why
    (`reason`) and from which conversation turn (`conversation_id`, `turn`)."""

    source: str = "api"
    actor: str | None = None
    reason: str | None = None
    conversation_id: str | None = None
    turn: int | None = None
    author: str | None = None  # the user who writes (None: not said, as for the service's own sweeps)

    def origin(self) -> dict[str, Any] | None:
        """The conversation turn a memory came from, or None."""
        if self.conversation_id is None:
            return None
        return {"conversation_id": self.conversation_id, "turn": self.turn}


BY_API = Provenance()


@dataclass(frozen=True)
class Memory:
    """One stored memory, as the services see it."""

    id: str
    content: str
    metadata: dict[str, str] = field(default_factory=dict)
    updated_at: int = 0
    word_count: int = 0
    token_count: int = 0
    revision: int = 1
    tags: tuple[str, ...] = ()
    scope: str | None = None  # None: a global memory
    # The store's document number: new with every content write and every import, never reused for
    # the user (0: a version in history). With the revision it tells every write apart, where the
    # revision alone cannot: an import may set any revision, the one the memory has now included.
    docno: int = 0
    source: str = "api"  # one of SOURCES: the door this version came through
    origin: dict[str, Any] | None = None  # automatic memories: {"conversation_id", "turn"}
    reason: str | None = None  # why this version was written, when the service wrote it (or a revert)
    occurred_at: int | None = None  # when what it says happened or was said (None: unknown)
    valid_until: int | None = None  # from when it no longer holds (None: it still holds)
    expires_at: int | None = None  # when the service deletes it (None: never)
    supersedes: str | None = None  # the memory this one replaced (capture set that one's valid_until)
    author: str | None = None  # the user who wrote this version (None: written before authors were kept)
    space: str | None = None  # the shared space it belongs to (None: its user's own)

    @classmethod
    def from_trusted_fields(cls, **fields) -> Memory:
        """A Memory from every one of its fields, as the store decodes them (already typed).

        The same object as Memory(**fields), made without the frozen dataclass's __init__, which
        sets each field through object.__setattr__: that was half the cost of decoding a record,
        and a chat decodes a couple of hundred. Every field must be given (tests/test_pure_functions.py
        checks that the store's decoder gives them all)."""
        memory = object.__new__(cls)
        memory.__dict__.update(fields)
        return memory

    @property
    def created_at(self) -> int:
        return created_at_of(self.id)

    @property
    def version(self) -> str:
        """Names this write of the memory: "<revision>.<document number>"."""
        return f"{self.revision}.{self.docno}"

    @property
    def etag(self) -> str:
        """An opaque entity tag that changes with every write of this memory (an import's too)."""
        return f'"{self.version}"'

    def to_api(self) -> dict:
        """The memory object of the REST API (OpenAI style), as memory_api/memory_object.py describes it."""
        return {
            "id": self.id,
            "object": "memory",
            "content": self.content,
            "metadata": dict(self.metadata),  # a copy: decoded memories are shared (store/records.py)
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "word_count": self.word_count,
            "token_count": self.token_count,
            "tags": list(self.tags),
            "scope": self.scope,
            "source": self.source,
            "origin": dict(self.origin) if self.origin else None,
            "reason": self.reason,
            "occurred_at": self.occurred_at,
            "valid_until": self.valid_until,
            "expires_at": self.expires_at,
            "supersedes": self.supersedes,
            "space": self.space,
            "author": self.author,
        }

    def expired(self, now: int) -> bool:
        """Whether the service deletes it at or before `now` (then it is never returned)."""
        return self.expires_at is not None and self.expires_at <= now

    def holds(self, at: int) -> bool:
        """Whether it still holds at `at` (its valid_until, if any, lies after)."""
        return self.valid_until is None or self.valid_until > at


@dataclass(frozen=True)
class Page:
    """One page of a cursor-paginated list."""

    items: list
    has_more: bool

    def to_api(self) -> dict:
        data = [item.to_api() for item in self.items]
        return {
            "object": "list",
            "data": data,
            "first_id": data[0]["id"] if data else None,
            "last_id": data[-1]["id"] if data else None,
            "has_more": self.has_more,
        }


@dataclass(frozen=True)
class Filters:
    """List and search filters: all must match."""

    tags: tuple[str, ...] = ()
    scope: str | None = None
    scoped: bool = False  # False: any scope; True: only `scope` (None = the global memories)
    created_after: int | None = None
    created_before: int | None = None
    updated_after: int | None = None
    updated_before: int | None = None
    source: str | None = None  # only memories whose latest version came from this door
    occurred_after: int | None = None  # only memories that happened in this range (occurred_at set)
    occurred_before: int | None = None
    as_of: int | None = None  # only what held then: occurred_at unset or <= it, valid_until unset or > it
    include_invalid: bool | None = None  # memories past their valid_until too (None: the door's default)


NO_FILTERS = Filters()


@dataclass(frozen=True)
class IdWalk:
    """Which ids one read of an id-ordered index covers, and in which direction.

    `above`/`below` exclude the id they name (cursors); `lowest`/`highest`
    include theirs (a created-time range). The store turns this into its own
    range syntax; the services never see that syntax.
    """

    newest_first: bool
    above: str | None = None
    below: str | None = None
    lowest: str | None = None
    highest: str | None = None
