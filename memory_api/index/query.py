"""A keyword query: which documents a text's terms occur in, scored with BM25, and how much of the query
a document's score covers (what hybrid search weighs keyword evidence by).

A query reads the postings of its terms in one transaction and is scored here,
so Redis only serves reads. A keyword search costs in proportion to the
postings it reads, so it is bounded (SearchBounds, from Settings): it reads the
query's rarest terms first, at most MEMORY_API_MAX_QUERY_TERMS of them and
MEMORY_API_MAX_SEARCH_POSTINGS postings in all, and ignores the rest: the most
common terms, which weigh least in BM25.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from ..store import keys
from ..store.records import hash_pairs
from ..store.redis import RedisStore, raises_store_unavailable
from .analyzer import query_terms
from .postings import decode, document_count

# BM25 parameters (the usual ones).
BM25_K1 = 1.2
BM25_B = 0.75


@dataclass(frozen=True)
class SearchBounds:
    """How much one keyword search may read: Redis serves every user, so no query may hold it long."""

    max_terms: int = 64
    max_postings: int = 100_000


def idf(n: int, df: int) -> float:
    """BM25's inverse document frequency of a term in `df` of `n` documents (the most for a term in none)."""
    return math.log(1 + (n - df + 0.5) / (df + 0.5))


@dataclass(frozen=True)
class KeywordMatch:
    """A text's keyword matches: (document number, BM25 score) of every document a scored term occurs in,
    unordered, and the score a document matching every query term as strongly as BM25 allows would get
    (each term's idf * (k1 + 1)). A term no memory has counts there at full weight: a question whose
    most telling word no memory contains is matched, at best, partly."""

    scores: list[tuple[Any, float]]
    attainable: float

    def coverage(self, score: float) -> float:
        """The share of the query a document's BM25 score covers: 0 (nothing) to 1 (all of it)."""
        return min(score / self.attainable, 1.0) if self.attainable > 0 else 0.0


NO_MATCH = KeywordMatch([], 0.0)


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
        weight = idf(n, df)
        for docno, packed in entries:
            packed = int(packed)
            tf, dl = packed >> 16, packed & 0xFFFF  # divmod by 65536 without making a tuple per posting
            scores[docno] = get(docno, 0.0) + weight * tf * (BM25_K1 + 1) / (
                tf + BM25_K1 * (1 - BM25_B + BM25_B * dl / avgdl))
    return list(scores.items())


def terms_to_score(terms: list[str], document_counts: list[int], bounds: SearchBounds) -> list[str]:
    """The query terms a keyword search reads: the rarest first (they weigh most in BM25; the most
    common weigh least and cost most), at most `max_terms`, and no more postings in all than
    `max_postings`, except that the rarest term present is always read. Absent terms cost nothing
    and score nothing, so they are left out."""
    by_rarity = sorted((count, i) for i, count in enumerate(document_counts) if count)
    chosen: list[str] = []
    postings = 0
    for count, i in by_rarity:
        if len(chosen) == bounds.max_terms or (chosen and postings + count > bounds.max_postings):
            break
        chosen.append(terms[i])
        postings += count
    return chosen


@raises_store_unavailable
class KeywordIndex:
    """Reads a user's postings for keyword queries."""

    def __init__(self, redis_store: RedisStore, bounds: SearchBounds = SearchBounds()) -> None:
        self._redis = redis_store
        self.bounds = bounds

    def match(self, user_id: str, text: str) -> KeywordMatch:
        """The BM25 scores of `text` over the user's memories, and what a full match would score."""
        terms = query_terms(text)
        if not terms:
            return NO_MATCH
        counts = self.document_counts(user_id, terms)
        scored = terms_to_score(terms, counts, self.bounds)
        n, total_terms, postings = self._postings(user_id, scored)
        if not n:
            return NO_MATCH
        attainable = sum(idf(n, df) for df in counts) * (BM25_K1 + 1)
        return KeywordMatch(bm25_rank(postings, n=n, total_terms=total_terms) if scored else [], attainable)

    def document_counts(self, user_id: str, terms: list[str]) -> list[int]:
        """How many memories each term occurs in (the length of its postings), one round trip."""
        pipe = self._redis.client.pipeline(transaction=False)
        for term in terms:
            pipe.hget(keys.term_postings(user_id, term), "df")
        return [document_count(df) for df in pipe.execute()]

    def _postings(self, user_id: str, terms: list[str]) -> tuple[int, int, list[list[tuple[bytes, int]]]]:
        """(memories, terms stored in all, per query term its postings as (docno, tf * 65536 + length)),
        read in one transaction."""
        pipe = self._redis.client.pipeline(transaction=True)
        pipe.zcard(keys.memory_ids(user_id))
        pipe.hget(keys.memory_stats(user_id), "terms")
        for term in terms:
            # Raw command: the reply as the parser made it, no per-item conversion.
            pipe.execute_command("HGETALL", keys.term_postings(user_id, term))
        n, total_terms, *postings = pipe.execute()
        return int(n), int(total_terms or 0), [decode(hash_pairs(p)) for p in postings]
