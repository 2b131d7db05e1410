"""Search over a user's memories: by keyword (BM25), by meaning (vectors), or both fused (hybrid).

Keyword: the search index (memory_api/index/) lives in Redis next to the
records and changes in the same Lua script as every write; it scores a query's
terms with BM25 (index/query.py, which also bounds what one query may read).
What matches is set out in index/analyzer.py. Meaning: the query is embedded
and the user's vector set gives its nearest memories (services/semantic.py).
Hybrid fuses the two by relative score: each list's scores are scaled (its best
1, its FUSION_DEPTH-th best 0) and mixed, meaning weighted
MEMORY_API_HYBRID_SEMANTIC_WEIGHT (0.8) and keywords the rest. The query's
vector is first adapted to the user (services/query_profile.py). (Reciprocal-rank fusion was measured too: it lets
a keyword-only match outrank the memory the question means; see
docs/benchmarks.md.) Filters (tags, scope, times) apply to every mode.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass
from typing import Any, NamedTuple

from ..ids import memory_id_bounds
from ..index.query import KeywordIndex
from ..models import Filters, Memory
from ..store.memories import MemoryStore
from ..validation import InputRules
from .semantic import SemanticIndex


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


def _best_first(item: tuple[Any, float]) -> tuple[float, int]:
    return item[1], int(item[0])  # ties: the later-stored document first


# Scores are scaled over each list's best FUSION_DEPTH candidates, however deep a caller reads: the
# same query then ranks its first results alike whether a search wants 5 or a chat's context 200.
# (Scaled over every candidate instead, a deep read squeezed the similarities of the best few into a
# sliver of 0-1, and keyword matches outranked the memory a question meant: docs/benchmarks.md.)
FUSION_DEPTH = 50


def _scaled(ranking: list[tuple[Any, float]]) -> dict[Any, float]:
    """Scores scaled so that the best is 1 and the FUSION_DEPTH-th best (or the worst, if fewer) 0;
    those below it go below 0, keeping their order."""
    if not ranking:
        return {}
    scores = sorted((score for _, score in ranking), reverse=True)
    high, low = scores[0], scores[min(FUSION_DEPTH, len(scores)) - 1]
    return {docno: (score - low) / (high - low) if high > low else 1.0 for docno, score in ranking}


def relative_score_fusion(keyword: list[tuple[Any, float]], semantic: list[tuple[Any, float]], *,
                          semantic_weight: float) -> list[tuple[Any, float]]:
    """One ranking from a keyword and a semantic one: weight * scaled similarity + (1 - weight) * scaled BM25
    (a document absent from a list scores as that list's last: no keyword match is the least of matches)."""
    by_keyword, by_meaning = _scaled(keyword), _scaled(semantic)
    keyword_floor = min(min(by_keyword.values(), default=0.0), 0.0)
    meaning_floor = min(min(by_meaning.values(), default=0.0), 0.0)
    fused = {docno: semantic_weight * by_meaning.get(docno, meaning_floor)
             + (1 - semantic_weight) * by_keyword.get(docno, keyword_floor)
             for docno in by_keyword.keys() | by_meaning.keys()}
    return sorted(fused.items(), key=_best_first, reverse=True)


class _Candidates:
    """Ranked document numbers for one query in one mode; `top(n)` widens as filters ask for more."""

    def __init__(self, keyword: KeywordIndex, semantic: SemanticIndex, user_id: str, text: str, mode: str) -> None:
        self._semantic, self._user, self._text, self._mode = semantic, user_id, text, mode
        # every document a scored query term occurs in, unordered
        self._scored = keyword.scores(user_id, text) if mode != "semantic" else []
        self._all_sorted: list[tuple[Any, float]] | None = None
        self._vector: bytes | None = None  # the query's embedding, computed on first use

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
                self._vector = self._semantic.user_query_vector(self._user, self._text)
            # Half as deep as the keyword side (at least FUSION_DEPTH): a nearest-neighbour read costs
            # with its depth (a chat's context asks for 800: ~3 ms), and what lies past the first few
            # hundred by meaning is read if filters turn the rest away (the caller widens n).
            count = max(n // 2, FUSION_DEPTH)
            semantic = self._semantic.nearest(self._user, self._vector, count)
            exhausted = exhausted and len(semantic) < count
        if self._mode == "keyword":
            return keyword, exhausted
        if self._mode == "semantic":
            return semantic, exhausted
        return relative_score_fusion(keyword, semantic, semantic_weight=self._semantic.hybrid_weight), exhausted


class SearchService:
    def __init__(self, store: MemoryStore, keyword: KeywordIndex, semantic: SemanticIndex,
                 rules: InputRules = InputRules()) -> None:
        self._store = store
        self.keyword = keyword
        self.semantic = semantic
        self.rules = rules

    def search(self, user_id: str, query: object, *, limit: int | None = None, filters: Filters = Filters(),
               mode: object = None) -> SearchResults:
        """The user's memories ranked by relevance to `query`, best first, each with its score (BM25 in
        keyword mode, similarity in semantic mode, the fused 0-1 score in hybrid mode)."""
        text = self.rules.query(query)
        limit = self.rules.limit(self.rules.default_page_size if limit is None else limit)
        mode = self.semantic.mode(mode)
        found = self.ranked(user_id, text, limit=limit + 1, filters=filters, mode=mode)
        return SearchResults(found[:limit], has_more=len(found) > limit, mode=mode)

    def ranked(self, user_id: str, text: str, *, limit: int, mode: str, filters: Filters = Filters(),
               scopes: list[str | None] | None = None) -> list[ScoredMemory]:
        """The best `limit` memories for `text` in `mode` (scopes: in any of these).

        Candidates are read a few times the limit deep, turned into memories
        (and filtered) in Redis a chunk at a time, and read deeper only when
        the filters turned too many of them away.
        """
        if scopes is None and filters.scoped:
            scopes = [filters.scope]
        lowest, highest = memory_id_bounds(filters.created_after, filters.created_before)
        candidates = _Candidates(self.keyword, self.semantic, user_id, text, mode)
        depth = max(limit * 4, 50)
        while True:
            ranked, exhausted = candidates.top(depth)
            hits = self._resolve(user_id, ranked, limit, filters, scopes, lowest or None, highest or None)
            if len(hits) >= limit or exhausted:
                return hits
            depth *= 4

    def _resolve(self, user_id, ranked, limit, filters, scopes, lowest, highest) -> list[ScoredMemory]:
        hits: list[ScoredMemory] = []
        chunk = max(limit * 2, 50)
        for start in range(0, len(ranked), chunk):
            part = ranked[start:start + chunk]
            scores = dict(part)
            found = self._store.resolve_hits(user_id, [docno for docno, _ in part], want=limit - len(hits),
                                             filters=filters, scopes=scopes, lowest_id=lowest, highest_id=highest)
            hits += [ScoredMemory(memory, scores[docno]) for docno, memory in found]
            if len(hits) >= limit:
                break
        return hits[:limit]
