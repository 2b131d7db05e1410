"""Search over a user's memories: by keyword (BM25), by meaning (vectors), or both (hybrid).

Keyword: the search index (memory_api/index/) lives in Redis next to the
records and changes in the same Lua script as every write; it scores a query's
terms with BM25 (index/query.py, which also bounds what one query may read).
What matches is set out in index/analyzer.py. Meaning: the query is embedded,
adapted to the user (services/query_profile.py), and the user's vector set gives
its nearest memories by cosine similarity (services/semantic.py). Hybrid adds
the two into one score that means the same in every query (services/fusion.py),
then lets memories said next to each other in one conversation lend each other
relevance. Filters (tags, scope, times) apply to every mode.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass
from typing import Any, NamedTuple

from ..ids import memory_id_bounds
from ..index.query import NO_MATCH, KeywordIndex
from ..models import Filters, Memory
from ..store.memories import MemoryStore
from ..validation import InputRules
from .fusion import calibrated_fusion, with_neighbours
from .semantic import SemanticIndex, UserQuery

# Hybrid ranks at least this many memories before conversation neighbours lend each other relevance, so
# a short search still sees the neighbours of its best hits.
NEIGHBOUR_POOL = 50
# Nearest neighbours read for a hybrid or semantic ranking n deep: half as deep as the keyword side, at
# least this many. A nearest-neighbour read costs with its depth (a chat's context asks for 400: ~2 ms),
# and what lies past the first few hundred by meaning is read if filters turn the rest away.
SEMANTIC_DEPTH = 50


def _best_first(item: tuple[Any, float]) -> tuple[float, int]:
    return item[1], int(item[0])  # ties: the later-stored document first


def conversation_position(memory: Memory) -> tuple[str, int] | None:
    """Where a memory was said: (conversation id, turn), from its origin; None if it was not."""
    origin = memory.origin
    if not origin or not isinstance(origin.get("turn"), int) or not origin.get("conversation_id"):
        return None
    return origin["conversation_id"], origin["turn"]


class ScoredMemory(NamedTuple):
    """A memory and its relevance score. A tuple rather than a frozen dataclass: a chat's context
    makes a couple of hundred, and a frozen dataclass's __init__ costs several times a tuple's."""

    memory: Memory
    score: float

    def to_api(self) -> dict[str, Any]:
        return {**self.memory.to_api(), "score": round(self.score, 6)}


@dataclass(frozen=True)
class SearchResults:
    items: list[ScoredMemory]
    has_more: bool
    mode: str

    def to_api(self) -> dict[str, Any]:
        data = [item.to_api() for item in self.items]
        return {"object": "list", "data": data, "first_id": data[0]["id"] if data else None,
                "last_id": data[-1]["id"] if data else None, "has_more": self.has_more, "mode": self.mode}


class _Candidates:
    """Ranked document numbers for one query in one mode; `top(n)` widens as filters ask for more."""

    def __init__(self, keyword: KeywordIndex, semantic: SemanticIndex, user_id: str, text: str, mode: str) -> None:
        self._semantic, self._user, self._text, self._mode = semantic, user_id, text, mode
        self._keyword = keyword.match(user_id, text) if mode != "semantic" else NO_MATCH
        self._scored = self._keyword.scores  # every document a scored query term occurs in, unordered
        self._all_sorted: list[tuple[Any, float]] | None = None
        self._by_docno: dict[Any, float] | None = None
        self._vector: UserQuery | None = None  # the query's embedding, computed on first use

    def _keyword_top(self, n: int) -> list[tuple[Any, float]]:
        if n < len(self._scored):
            return heapq.nlargest(n, self._scored, key=_best_first)
        if self._all_sorted is None:
            self._all_sorted = sorted(self._scored, key=_best_first, reverse=True)
        return self._all_sorted

    def top(self, n: int) -> tuple[list[tuple[Any, float]], bool]:
        """(the best `n` or so, best first; whether there is nothing beyond them)."""
        keyword, semantic = [], []
        exhausted = True
        if self._mode != "semantic":
            keyword = self._keyword_top(n)
            exhausted = n >= len(self._scored)
        if self._mode != "keyword":
            if self._vector is None:
                self._vector = self._semantic.user_query(self._user, self._text)
            count = max(n // 2, SEMANTIC_DEPTH)
            semantic = self._semantic.nearest(self._user, self._vector, count)
            exhausted = exhausted and len(semantic) < count
        if self._mode == "keyword":
            return keyword, exhausted
        if self._mode == "semantic":
            return semantic, exhausted
        return calibrated_fusion(self._keyword, keyword, semantic, weight=self._semantic.keyword_weight,
                                 bm25_of=self._bm25_of), exhausted

    def _bm25_of(self, docno: Any) -> float | None:
        """A document's BM25 score for this query (None: no match); the lookup is made on first use."""
        if self._by_docno is None:
            self._by_docno = dict(self._scored)
        return self._by_docno.get(docno)


class SearchService:
    def __init__(self, store: MemoryStore, keyword: KeywordIndex, semantic: SemanticIndex,
                 rules: InputRules = InputRules()) -> None:
        self._store = store
        self.keyword = keyword
        self.semantic = semantic
        self.rules = rules

    def search(self, user_id: str, query: object, *, limit: int | None = None, filters: Filters = Filters(),
               mode: object = None, min_score: object = None) -> SearchResults:
        """The user's memories ranked by relevance to `query`, best first, each with its score (BM25 in
        keyword mode, cosine similarity in semantic mode, services/fusion.py's score in hybrid mode). Those
        past their valid_until only with `filters.include_invalid`; those past their expiry never."""
        text = self.rules.query(query)
        limit = self.rules.limit(self.rules.default_page_size if limit is None else limit)
        mode = self.semantic.mode(mode)
        floor = self.rules.min_score(min_score)
        found = self.ranked(user_id, text, limit=limit + 1, filters=filters, mode=mode, min_score=floor)
        return SearchResults(found[:limit], has_more=len(found) > limit, mode=mode)

    def ranked(self, user_id: str, text: str, *, limit: int, mode: str, filters: Filters = Filters(),
               scopes: list[str | None] | None = None, min_score: float | None = None) -> list[ScoredMemory]:
        """The best `limit` memories for `text` in `mode` (scopes: in any of these), none scoring below
        `min_score`.

        Candidates are read a few times the limit deep, turned into memories
        (and filtered) in Redis a chunk at a time, and read deeper only when
        the filters turned too many of them away.
        """
        if scopes is None and filters.scoped:
            scopes = [filters.scope]
        lowest, highest = memory_id_bounds(filters.created_after, filters.created_before)
        candidates = _Candidates(self.keyword, self.semantic, user_id, text, mode)
        want = max(limit, NEIGHBOUR_POOL) if mode == "hybrid" else limit
        depth = max(want * 4, 50)
        while True:
            ranked, exhausted = candidates.top(depth)
            hits = self._resolve(user_id, ranked, want, filters, scopes, lowest or None, highest or None)
            if len(hits) >= want or exhausted:
                break
            depth *= 4
        if mode == "hybrid":
            lent = with_neighbours([(hit.memory, hit.score, conversation_position(hit.memory)) for hit in hits])
            hits = [ScoredMemory(memory, score) for memory, score in lent]
        if min_score is not None:
            hits = [hit for hit in hits if hit.score >= min_score]
        return hits[:limit]

    def _resolve(self, user_id, ranked, limit, filters, scopes, lowest, highest) -> list[ScoredMemory]:
        hits: list[ScoredMemory] = []
        chunk = max(limit * 2, 50)
        for start in range(0, len(ranked), chunk):
            part = ranked[start:start + chunk]
            scores = dict(part)
            found = self._store.resolve_hits(user_id, [docno for docno, _ in part], want=limit - len(hits),
                                             filters=filters, scopes=scopes, lowest_id=lowest, highest_id=highest,
                                             hide_invalid=filters.include_invalid is not True)
            hits += [ScoredMemory(memory, scores[docno]) for docno, memory in found]
            if len(hits) >= limit:
                break
        return hits[:limit]
