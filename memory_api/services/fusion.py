"""Hybrid ranking: one score from a memory's meaning and its keyword match, comparable across queries.

    score = cosine similarity of meaning + weight * coverage²

Cosine similarity (-1 to 1) is the query's embedding against the memory's (the
query adapted to the user first: services/query_profile.py). Coverage (0 to 1)
is the share of the query the memory's BM25 score reaches (index/query.py
KeywordMatch), a query word no memory has counting at full weight. Squared, a
memory that shares one ordinary word with a question ("call" in "who should I
call about a trim?") gains little, and one that holds most of the question's
telling words ("LGBTQ support group") gains up to `weight`: keyword evidence
decides where it is strong and meaning decides where words are shared only by
chance. Both parts are absolute, not scaled to each query's best, so the same
score means about the same in every query, for every user (`min_score`, and the
relevance an injected memory must have, rely on it).

The weight (MEMORY_API_HYBRID_KEYWORD_WEIGHT, 5) and the square were chosen on
LoCoMo's conversations and on bench/data/recall_set.json together: scaling each
list to its best and mixing them (the earlier fusion) could not serve both
(docs/benchmarks.md has the figures).

A memory that only one list returned scores as that list's weakest for the
other part: one absent from the nearest neighbours read gets the lowest cosine
read (it is at most that similar), one without a keyword match gets coverage 0.

Then memories that were said next to each other in one conversation (an
`origin` with the same conversation and adjacent turns: a captured or imported
conversation) lend each other part of their relevance (NEIGHBOUR_SHARE): a
question's answer is often the turn after the one that names its subject.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..index.query import KeywordMatch

# The share of a conversation neighbour's relevance (above the weakest candidate's) a memory gains.
NEIGHBOUR_SHARE = 0.4


def _best_first(item: tuple[Any, float]) -> tuple[float, int]:
    return item[1], int(item[0])  # ties: the later-stored document first


def calibrated_fusion(keyword: KeywordMatch, leaders: list[tuple[Any, float]], semantic: list[tuple[Any, float]],
                      *, weight: float, bm25_of: Callable[[Any], float | None]) -> list[tuple[Any, float]]:
    """(document number, score) best first (module docstring) of the keyword `leaders` (the best BM25
    scores of `keyword`) and the `semantic` list; `bm25_of` gives any other document's BM25 score (None:
    no match), so a memory found by meaning keeps the keyword evidence it has, however far down it ranks
    by keywords. Only the leaders are fused, not every match: at 100,000 memories a query's words match
    tens of thousands."""
    similarity = dict(semantic)
    floor = min(similarity.values(), default=0.0)
    fused = {docno: similarity.get(docno, floor) + weight * keyword.coverage(score) ** 2 for docno, score in leaders}
    for docno, cosine in similarity.items():
        if docno not in fused:
            score = bm25_of(docno)
            fused[docno] = cosine + (weight * keyword.coverage(score) ** 2 if score is not None else 0.0)
    return sorted(fused.items(), key=_best_first, reverse=True)


def with_neighbours(scored: list[tuple[Any, float, Any]]) -> list[tuple[Any, float]]:
    """(item, score) best first, after conversation neighbours lent each other relevance: `scored` holds
    (item, score, position) with position (conversation id, turn) or None."""
    if not scored:
        return []
    floor = min(score for _, score, _ in scored)
    at = {position: score for _, score, position in scored if position is not None}
    out = []
    for item, score, position in scored:
        if position is not None:
            conversation, turn = position
            best = max(at.get((conversation, turn - 1), floor), at.get((conversation, turn + 1), floor))
            score += NEIGHBOUR_SHARE * (best - floor)
        out.append((item, score))
    out.sort(key=lambda pair: pair[1], reverse=True)
    return out
