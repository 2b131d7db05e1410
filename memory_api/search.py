"""Full-text search over a user's memories (BM25), and the summaries of what a user has stored.

The index lives in Redis next to the records and changes in the same Lua
script as every create, update, delete and import (store/memory_scripts.py).
A query reads the postings of its terms and scores them in the worker
(store/memories.py), so its cost is in proportion to those postings and
Redis only serves reads. What matches is set
out in memory_api/text.py: case-insensitive Unicode words, no stemming, no
phrases, English stop words ignored.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .errors import InvalidRequest
from .ids import created_at_of, memory_id_bounds
from .memories import MAX_PAGE_SIZE, Filters
from .models import Memory
from .store.memories import MemoryStore
from .text import query_terms
from .validation import check_text

MAX_QUERY_CHARS = 1000


@dataclass(frozen=True)
class ScoredMemory:
    memory: Memory
    score: float

    def to_api(self) -> dict[str, Any]:
        return {**self.memory.to_api(), "score": round(self.score, 6)}


@dataclass(frozen=True)
class SearchResults:
    items: list[ScoredMemory]
    has_more: bool

    def to_api(self) -> dict[str, Any]:
        data = [item.to_api() for item in self.items]
        return {"object": "list", "data": data, "first_id": data[0]["id"] if data else None,
                "last_id": data[-1]["id"] if data else None, "has_more": self.has_more}


def check_query(value: object) -> str:
    text = check_text(value, param="query", max_chars=MAX_QUERY_CHARS)
    return text


class SearchService:
    def __init__(self, store: MemoryStore) -> None:
        self._store = store

    def search(self, user_id: str, query: object, *, limit: int = 20, filters: Filters = Filters()
               ) -> SearchResults:
        """The user's memories ranked by relevance to `query`, best first, each with its BM25 score."""
        text = check_query(query)
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_PAGE_SIZE:
            raise InvalidRequest(f"'limit' must be an integer from 1 to {MAX_PAGE_SIZE}.", param="limit",
                                 code="invalid_limit")
        found = self.ranked(user_id, query_terms(text), limit=limit + 1, filters=filters)
        return SearchResults(found[:limit], has_more=len(found) > limit)

    def ranked(self, user_id: str, terms: list[str], *, limit: int, filters: Filters = Filters(),
               scopes: list[str | None] | None = None) -> list[ScoredMemory]:
        """The best `limit` memories for already-split query terms (scopes: any of these)."""
        lowest, highest = memory_id_bounds(filters.created_after, filters.created_before)
        if scopes is None and filters.scoped:
            scopes = [filters.scope]
        found = self._store.search(
            user_id, terms, limit=limit, scopes=scopes, tags=filters.tags, lowest_id=lowest,
            highest_id=highest, updated_after=filters.updated_after, updated_before=filters.updated_before,
        )
        return [ScoredMemory(memory, score) for memory, score in found]

    def tags(self, user_id: str) -> list[dict[str, Any]]:
        """The user's tags with how many memories carry each, most used first."""
        counts = self._store.tag_counts(user_id)
        return [{"object": "memory.tag", "tag": tag, "count": count}
                for tag, count in sorted(counts.items(), key=lambda item: (-item[1], item[0]))]

    def stats(self, user_id: str) -> dict[str, Any]:
        s = self._store.stats(user_id)
        return {
            "object": "memory.stats",
            "count": s["count"],
            "words": s["words"],
            "tokens": s["tokens"],
            "tags": s["tags"],
            "scopes": s["scopes"],
            "oldest": {"id": s["oldest"], "created_at": created_at_of(s["oldest"])} if s["oldest"] else None,
            "newest": {"id": s["newest"], "created_at": created_at_of(s["newest"])} if s["newest"] else None,
        }
