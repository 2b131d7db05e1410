"""The memory service: create, read, update, delete and list a user's memories.

Plain Python, no Flask: the REST API, the MCP server and the CLI all call
these functions, so every rule (limits, counts, pagination) lives here once.
"""

from __future__ import annotations

import logging
import time

from .errors import InvalidRequest, NotFound, PreconditionFailed
from .ids import MEMORY_PREFIX, is_memory_id, new_memory_id
from .models import Memory, Page
from .store.memories import MemoryStore, WriteResult
from .tokens import count_tokens, count_words
from .validation import check_content, check_metadata

log = logging.getLogger(__name__)

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
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


def _not_found(memory_id: str) -> NotFound:
    return NotFound(f"No memory found with id '{memory_id}'.", param="memory_id", code="memory_not_found")


class MemoryService:
    """A user's memories. Every method takes the acting user's id first."""

    def __init__(self, store: MemoryStore, *, max_content_chars: int = 4000) -> None:
        self._store = store
        self.max_content_chars = max_content_chars

    def _measured(self, content: object) -> tuple[str, int, int]:
        text = check_content(content, max_chars=self.max_content_chars)
        return text, count_words(text), count_tokens(text)

    def create(self, user_id: str, content: object, metadata: object = None, *,
               memory_id: str | None = None) -> Memory:
        """Store a new memory; word and token counts are computed once, here.

        `memory_id` (from an Idempotency-Key's reservation) makes a retried create a
        no-op that returns the memory the first attempt stored.
        """
        text, words, tokens = self._measured(content)
        memory = Memory(
            id=memory_id or new_memory_id(),
            content=text,
            metadata=check_metadata(metadata),
            updated_at=int(time.time()),
            word_count=words,
            token_count=tokens,
            revision=1,
        )
        if not self._store.create(user_id, memory):
            return self.get(user_id, memory.id)
        log.debug("created %s for %s: %r", memory.id, user_id, memory.content)
        return memory

    def get(self, user_id: str, memory_id: str) -> Memory:
        check_memory_id(memory_id)
        memory = self._store.get(user_id, memory_id)
        if memory is None:
            raise _not_found(memory_id)
        return memory

    def update(
        self,
        user_id: str,
        memory_id: str,
        *,
        content: object = None,
        metadata: object = None,
        metadata_given: bool = False,
        expected_revisions: list[int] | None = None,
    ) -> Memory:
        """Change content and/or metadata (metadata is replaced as a whole).

        `metadata_given` distinguishes "set metadata to empty" (metadata=None or {})
        from "leave metadata alone". With `expected_revisions` (If-Match) the update
        happens only if the memory is at one of them (else 412).
        """
        check_memory_id(memory_id)
        if content is None and not metadata_given:
            raise InvalidRequest(
                "Nothing to update: give 'content' and/or 'metadata'.", param="content", code="empty_update"
            )
        measured = self._measured(content) if content is not None else None
        result = self._store.update(
            user_id,
            memory_id,
            updated_at=int(time.time()),
            content=measured,
            metadata=check_metadata(metadata) if metadata_given else None,
            expected_revisions=expected_revisions,
        )
        memory = self._settled(memory_id, result)
        log.debug("updated %s for %s: %r", memory_id, user_id, memory.content)
        return memory

    def delete(self, user_id: str, memory_id: str, *, expected_revisions: list[int] | None = None) -> Memory:
        """Delete permanently; returns the memory as it was."""
        check_memory_id(memory_id)
        result = self._store.delete(user_id, memory_id, expected_revisions=expected_revisions)
        return self._settled(memory_id, result)

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

    def list(
        self,
        user_id: str,
        *,
        limit: int = DEFAULT_PAGE_SIZE,
        order: str = "desc",
        after: str | None = None,
        before: str | None = None,
    ) -> Page:
        """One page of memories, OpenAI-style cursors.

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
        newest_first = order == "desc"
        # Bounds in id order (ZRANGE BYLEX syntax); "after" lies on the side the order walks to.
        lower, upper = "-", "+"
        if after is not None:
            lower, upper = (lower, f"({after}") if newest_first else (f"({after}", upper)
        if before is not None:
            lower, upper = (f"({before}", upper) if newest_first else (lower, f"({before}")
        # With only `before`, walk from the cursor outwards, then restore list order.
        walk_back = before is not None and after is None
        items = self._store.page(
            user_id, lower=lower, upper=upper, newest_first=newest_first != walk_back, count=limit + 1
        )
        has_more = len(items) > limit
        items = items[:limit]
        if walk_back:
            items.reverse()
        return Page(items=items, has_more=has_more)
