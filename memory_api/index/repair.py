"""`memory-api reindex`'s repairs of a user's postings that no memory's re-indexing reaches (index/verify.py
finds them): a term's hash that is not well-formed or whose count is wrong, and postings that must not be
there. Every write keeps all of it right, so these are repairs of damage; each is one small script on one
term, so writes go on meanwhile."""

from __future__ import annotations

from ..store import keys
from ..store.redis import RedisStore, confirms_persistence, raises_store_unavailable


@raises_store_unavailable
class PostingsRepair:
    def __init__(self, redis_store: RedisStore) -> None:
        self._redis = redis_store

    @confirms_persistence
    def unpost(self, user_id: str, term: str, docnos: list[str]) -> int:
        """Take these documents out of the term's postings (UNPOST_DOCUMENTS); returns how many were listed."""
        return int(self._redis.script("UNPOST_DOCUMENTS")(keys=[keys.term_postings(user_id, term)], args=docnos))

    @confirms_persistence
    def correct_terms_counter(self, user_id: str, over: int) -> None:
        """Take `over` off the terms counter (BM25's average length): a correction by difference, so the
        writes that go on meanwhile, which each add and take off their own lengths, keep theirs."""
        self._redis.client.hincrby(keys.memory_stats(user_id), "terms", -over)

    @confirms_persistence
    def mend(self, user_id: str, term: str) -> bool:
        """Make the term's hash well-formed and its count what it lists (MEND_POSTINGS); whether it was not."""
        return bool(int(self._redis.script("MEND_POSTINGS")(keys=[keys.term_postings(user_id, term)])))
