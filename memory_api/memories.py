"""The memory service: create, read, update, delete and list a user's memories.

Plain Python, no Flask: the REST API, the MCP server and the CLI all call
these functions, so every rule (limits, counts, duplicates, quotas,
pagination) lives here once.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

from .errors import Conflict, InvalidRequest, NotFound, PreconditionFailed
from .ids import MEMORY_PREFIX, is_memory_id, memory_id_bounds, new_memory_id
from .models import Memory, Page
from .store.memories import Indexed, MemoryStore, QuotaExceeded, WriteResult
from .text import analyze
from .tokens import count_tokens, count_words
from .validation import check_content, check_metadata, check_scope, check_tag, check_tags

log = logging.getLogger(__name__)

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
MAX_BATCH = 100
ORDERS = ("desc", "asc")


def check_memory_id(value: object, *, param: str = "memory_id") -> str:
    if not isinstance(value, str) or not is_memory_id(value):
        shown = str(value)[:80]
        raise InvalidRequest(
            f"Invalid memory id {shown!r}: expected '{MEMORY_PREFIX}' followed by 26 characters.",
            param=param,
            code="invalid_id",
        )
    return value


def check_page_args(limit: object, order: object) -> tuple[int, str]:
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_PAGE_SIZE:
        raise InvalidRequest(
            f"'limit' must be an integer from 1 to {MAX_PAGE_SIZE}.", param="limit", code="invalid_limit"
        )
    if order not in ORDERS:
        raise InvalidRequest("'order' must be 'desc' or 'asc'.", param="order", code="invalid_order")
    return limit, order  # type: ignore[return-value]


@dataclass(frozen=True)
class CursorWalk:
    """How to read one page of an id-ordered ZSET (ZRANGE BYLEX bounds) for OpenAI-style cursors."""

    lower: str
    upper: str
    newest_first: bool  # the direction to walk the index in
    walk_back: bool  # only `before` given: walk from the cursor outwards, then restore list order

    def page(self, items: list, limit: int) -> Page:
        """The page from `limit + 1` items read in walk order."""
        has_more = len(items) > limit
        items = items[:limit]
        if self.walk_back:
            items.reverse()
        return Page(items=items, has_more=has_more)


def cursor_walk(order: str, after: str | None, before: str | None, *, lowest: str = "",
                highest: str = "") -> CursorWalk:
    """Bounds for a page: `after` continues past an id in list order, `before` is the page just
    before one; `lowest`/`highest` (inclusive ids) narrow the range further."""
    newest_first = order == "desc"
    lower, upper = (f"[{lowest}" if lowest else "-"), (f"[{highest}" if highest else "+")
    # "after" lies on the side the order walks to.
    low_cursor, high_cursor = (before, after) if newest_first else (after, before)
    if low_cursor is not None and low_cursor >= lower[1:]:
        lower = f"({low_cursor}"
    if high_cursor is not None and (upper == "+" or high_cursor <= upper[1:]):
        upper = f"({high_cursor}"
    walk_back = before is not None and after is None
    return CursorWalk(lower, upper, newest_first != walk_back, walk_back)


def _not_found(memory_id: str) -> NotFound:
    return NotFound(f"No memory found with id '{memory_id}'.", param="memory_id", code="memory_not_found")


def _memory_full(err: QuotaExceeded, quota_memories: int, quota_words: int) -> Conflict:
    limit = f"{quota_memories} memories" if err.what == "count" else f"{quota_words} words of memories"
    return Conflict(
        f"Your memory is full: this user may keep at most {limit}. Delete or shorten memories first; "
        "nothing was stored.",
        param="content", code="memory_full",
    )


def indexed(text: str) -> Indexed:
    """The search-index and duplicate data of a memory's content (memory_api/text.py rules)."""
    frequencies, fingerprint = analyze(text)
    return Indexed(
        terms=" ".join(f"{term} {tf}" for term, tf in frequencies.items()),
        length=sum(frequencies.values()),
        fingerprint=fingerprint,
    )


@dataclass(frozen=True)
class Created:
    memory: Memory
    duplicate: bool  # an equal memory (same content and scope) existed: that one is returned


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


def check_filters(tags: Any = None, scope: Any = None, created_after: Any = None, created_before: Any = None,
                  updated_after: Any = None, updated_before: Any = None) -> Filters:
    times = {}
    for name, value in (("created_after", created_after), ("created_before", created_before),
                        ("updated_after", updated_after), ("updated_before", updated_before)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
            raise InvalidRequest(f"'{name}' must be a Unix time in seconds.", param=name, code="invalid_value")
        times[name] = value
    tag_list = [check_tag(t, param="tag") for t in (tags or [])]
    return Filters(tags=tuple(dict.fromkeys(tag_list)), scope=check_scope(scope, allow_global=True),
                   scoped=scope is not None, **times)


class MemoryService:
    """A user's memories. Every method takes the acting user's id first."""

    def __init__(self, store: MemoryStore, *, max_content_chars: int = 4000, history_depth: int = 10,
                 quota_memories: int = 0, quota_words: int = 0) -> None:
        self._store = store
        self.max_content_chars = max_content_chars
        self.history_depth = history_depth
        self.quota_memories = quota_memories
        self.quota_words = quota_words

    def _new(self, content: object, metadata: object, tags: object, scope: object, *, memory_id: str | None,
             param: str = "") -> tuple[Memory, Indexed]:
        text = check_content(content, max_chars=self.max_content_chars, param=f"{param}content")
        memory = Memory(
            id=memory_id or new_memory_id(),
            content=text,
            metadata=check_metadata(metadata, param=f"{param}metadata"),
            updated_at=int(time.time()),
            word_count=count_words(text),
            token_count=count_tokens(text),
            revision=1,
            tags=tuple(check_tags(tags, param=f"{param}tags")),
            scope=check_scope(scope, param=f"{param}scope"),
        )
        return memory, indexed(text)

    def _store_new(self, user_id: str, items: list[tuple[Memory, Indexed]]) -> list[Created]:
        try:
            results = self._store.create_many(user_id, items, max_count=self.quota_memories,
                                              max_words=self.quota_words)
        except QuotaExceeded as err:
            raise _memory_full(err, self.quota_memories, self.quota_words) from None
        for status, memory in results:
            log.debug("%s %s for %s: %r", status, memory.id, user_id, memory.content)
        return [Created(memory, status == "duplicate") for status, memory in results]

    def create(self, user_id: str, content: object, metadata: object = None, *, tags: object = None,
               scope: object = None, memory_id: str | None = None) -> Created:
        """Store a new memory; word and token counts are computed once, here.

        A memory equal to one the user has in the same scope is not stored twice:
        the existing one comes back, marked duplicate. `memory_id` (from an
        Idempotency-Key's reservation) makes a retried create a no-op.
        """
        return self._store_new(user_id, [self._new(content, metadata, tags, scope, memory_id=memory_id)])[0]

    def create_batch(self, user_id: str, items: object, *, id_prefix: str | None = None) -> list[Created]:
        """Up to 100 memories at once, all or nothing (any invalid item: 400 naming it, nothing stored)."""
        if not isinstance(items, list) or not 1 <= len(items) <= MAX_BATCH:
            raise InvalidRequest(f"'memories' must be an array of 1 to {MAX_BATCH} memories.", param="memories",
                                 code="invalid_batch")
        prepared = []
        for i, item in enumerate(items):
            if not isinstance(item, dict):
                raise InvalidRequest(f"'memories[{i}]' must be an object.", param=f"memories[{i}]")
            memory_id = f"{id_prefix}{i:06d}" if id_prefix else None
            prepared.append(self._new(item.get("content"), item.get("metadata"), item.get("tags"),
                                      item.get("scope"), memory_id=memory_id, param=f"memories[{i}]."))
        return self._store_new(user_id, prepared)

    def get(self, user_id: str, memory_id: str) -> Memory:
        check_memory_id(memory_id)
        memory = self._store.get(user_id, memory_id)
        if memory is None:
            raise _not_found(memory_id)
        return memory

    def update(self, user_id: str, memory_id: str, changes: dict[str, Any], *,
               expected_revisions: list[int] | None = None) -> Memory:
        """Change any of content, metadata, tags, scope (given keys only; metadata and tags are
        replaced whole, a null scope makes the memory global). The previous version goes to history.
        With `expected_revisions` (If-Match) it happens only if the memory is at one of them (else 412)."""
        check_memory_id(memory_id)
        if not changes:
            raise InvalidRequest("Nothing to update: give content, metadata, tags and/or scope.",
                                 param="content", code="empty_update")
        content = None
        if "content" in changes:
            text = check_content(changes["content"], max_chars=self.max_content_chars)
            content = (text, count_words(text), count_tokens(text), indexed(text))
        try:
            result = self._store.update(
                user_id, memory_id, updated_at=int(time.time()), content=content,
                metadata=check_metadata(changes["metadata"]) if "metadata" in changes else None,
                tags=check_tags(changes["tags"]) if "tags" in changes else None,
                scope=check_scope(changes.get("scope")), scope_given="scope" in changes,
                expected_revisions=expected_revisions, history_depth=self.history_depth,
                max_words=self.quota_words,
            )
        except QuotaExceeded as err:
            raise _memory_full(err, self.quota_memories, self.quota_words) from None
        memory = self._settled(memory_id, result)
        log.debug("updated %s for %s: %r", memory_id, user_id, memory.content)
        return memory

    def delete(self, user_id: str, memory_id: str, *, expected_revisions: list[int] | None = None) -> Memory:
        """Delete permanently (with its history); returns the memory as it was."""
        check_memory_id(memory_id)
        [result] = self._store.delete_many(user_id, [memory_id], expected_revisions=expected_revisions)
        return self._settled(memory_id, result)

    def delete_batch(self, user_id: str, memory_ids: object) -> list[tuple[str, bool]]:
        """Delete up to 100 ids; per id (id, deleted). Unknown ids are reported, not errors."""
        if not isinstance(memory_ids, list) or not 1 <= len(memory_ids) <= MAX_BATCH:
            raise InvalidRequest(f"'ids' must be an array of 1 to {MAX_BATCH} memory ids.", param="ids",
                                 code="invalid_batch")
        ids = list(dict.fromkeys(check_memory_id(i, param="ids") for i in memory_ids))
        results = dict(zip(ids, self._store.delete_many(user_id, ids)))
        return [(i, results[i].ok) for i in memory_ids]

    def delete_all(self, user_id: str) -> int:
        """Delete every memory of the user, in chunks (each one atomic); returns how many."""
        total = 0
        while True:
            deleted, remaining = self._store.delete_oldest(user_id, 500)
            total += deleted
            if not remaining or not deleted:
                return total

    @staticmethod
    def _settled(memory_id: str, result: WriteResult) -> Memory:
        if result.missing:
            raise _not_found(memory_id)
        if not result.ok:
            raise PreconditionFailed(
                f"Memory '{memory_id}' has changed since the version you sent in If-Match.",
                param="If-Match",
            )
        assert result.memory is not None
        return result.memory

    def list(self, user_id: str, *, limit: int = DEFAULT_PAGE_SIZE, order: str = "desc",
             after: str | None = None, before: str | None = None, filters: Filters = Filters()) -> Page:
        """One page of memories, OpenAI-style cursors, optionally filtered.

        `after` continues past an id in list order, `before` gives the page just
        before an id. A cursor is only a position in id order, so it keeps
        working after the memory it names is deleted, and paging while others
        write never repeats or skips a memory that existed throughout.
        """
        limit, order = check_page_args(limit, order)
        if after is not None:
            check_memory_id(after, param="after")
        if before is not None:
            check_memory_id(before, param="before")
        lowest, highest = memory_id_bounds(filters.created_after, filters.created_before)
        walk = cursor_walk(order, after, before, lowest=lowest, highest=highest)
        items = self._store.page(
            user_id, lower=walk.lower, upper=walk.upper, newest_first=walk.newest_first, count=limit + 1,
            scope=filters.scope, scoped=filters.scoped, tags=filters.tags,
            updated_after=filters.updated_after, updated_before=filters.updated_before,
        )
        return walk.page(items, limit)

    def history(self, user_id: str, memory_id: str) -> list[Memory]:
        """Previous versions, newest first (at most MEMORY_API_HISTORY_DEPTH)."""
        self.get(user_id, memory_id)
        return self._store.history(user_id, memory_id, self.history_depth)
