"""Full-text search over a user's memories: BM25 ranking, in the worker, over postings from the store.

The index lives in Redis next to the records and changes in the same Lua
script as every create, update, delete and import (store/memory_lua.py). A
query reads the postings of its terms in one transaction and is scored here,
so its cost is in proportion to those postings and Redis only serves reads.
What matches is set out in memory_api/text.py.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass
from typing import Any

from ..ids import memory_id_bounds
from ..models import Filters, Memory
from ..store.memories import MemoryStore
from ..text import query_terms
from ..validation import InputRules

# BM25 parameters (the usual ones).
BM25_K1 = 1.2
BM25_B = 0.75


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


def bm25_rank(postings: list, *, n: int, total_terms: int) -> list[tuple[Any, float]]:
    """(document number, score) for every document a query term occurs in, unordered.

    postings: per query term, (docno, tf * 65536 + document length) pairs.
    """
    avgdl = total_terms / n if total_terms > 0 else 1.0
    scores: dict[Any, float] = {}
    get = scores.get
    for entries in postings:
        df = len(entries)
        if not df:
            continue
        idf = math.log(1 + (n - df + 0.5) / (df + 0.5))
        for docno, packed in entries:
            tf, dl = divmod(int(packed), 65536)
            scores[docno] = get(docno, 0.0) + idf * tf * (BM25_K1 + 1) / (
                tf + BM25_K1 * (1 - BM25_B + BM25_B * dl / avgdl))
    return list(scores.items())


def _best_first(item: tuple[Any, float]) -> tuple[float, int]:
    return item[1], int(item[0])  # ties: the later-stored document first


class SearchService:
    def __init__(self, store: MemoryStore, rules: InputRules = InputRules()) -> None:
        self._store = store
        self.rules = rules

    def search(self, user_id: str, query: object, *, limit: int | None = None, filters: Filters = Filters()
               ) -> SearchResults:
        """The user's memories ranked by relevance to `query`, best first, each with its BM25 score."""
        text = self.rules.query(query)
        limit = self.rules.limit(self.rules.default_page_size if limit is None else limit)
        found = self.ranked(user_id, query_terms(text), limit=limit + 1, filters=filters)
        return SearchResults(found[:limit], has_more=len(found) > limit)

    def ranked(self, user_id: str, terms: list[str], *, limit: int, filters: Filters = Filters(),
               scopes: list[str | None] | None = None) -> list[ScoredMemory]:
        """The best `limit` memories for already-split query terms (scopes: in any of these).

        Most searches need only the top few: those are selected first, and
        everything is sorted only if the filters turn too many of them away.
        Hits are resolved into memories (and filtered) a chunk at a time.
        """
        if not terms:
            return []
        n, total_terms, postings = self._store.postings(user_id, terms)
        if not n:
            return []
        if scopes is None and filters.scoped:
            scopes = [filters.scope]
        lowest, highest = memory_id_bounds(filters.created_after, filters.created_before)
        scored = bm25_rank(postings, n=n, total_terms=total_terms)
        chunk = max(limit * 2, 50)
        ranked = heapq.nlargest(chunk * 2, scored, key=_best_first)
        complete = len(ranked) == len(scored)
        hits: list[ScoredMemory] = []
        start = 0
        while len(hits) < limit:
            if start >= len(ranked):
                if complete:
                    break
                ranked, complete = sorted(scored, key=_best_first, reverse=True), True
            part = ranked[start:start + chunk]
            start += chunk
            scores = dict(part)
            found = self._store.resolve_hits(user_id, [docno for docno, _ in part], want=limit - len(hits),
                                             filters=filters, scopes=scopes, lowest_id=lowest or None,
                                             highest_id=highest or None)
            hits += [ScoredMemory(memory, scores[docno]) for docno, memory in found]
        return hits[:limit]
