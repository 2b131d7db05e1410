"""`memory-api reindex`'s work on a user's search postings as a whole (store/postings.py layout): move
postings stored one per hash field (before buckets) into buckets and recount, and drop postings of
documents that are gone. Each term's hash is worked a bounded piece per script call, so Redis is
never held long and writes go on meanwhile."""

from __future__ import annotations

from typing import Iterator

from . import keys
from .records import text
from .redis import RedisStore, confirms_persistence, raises_store_unavailable


@raises_store_unavailable
class PostingsUpkeep:
    def __init__(self, redis_store: RedisStore) -> None:
        self._redis = redis_store

    @confirms_persistence
    def compact(self, user_id: str, *, per_call: int = 2048) -> tuple[int, int]:
        """Move the user's postings stored one per field into buckets (COMPACT_POSTINGS), up to
        `per_call` a call, and set every term's count to what it lists; returns (postings moved,
        terms whose count was wrong)."""
        moved = recounted = 0
        script = self._redis.script("COMPACT_POSTINGS")
        for term_key in self._term_keys(user_id):
            while True:
                step, wrong = (int(v) for v in script(keys=[term_key], args=[per_call]))
                moved, recounted = moved + step, recounted + wrong
                if not step:
                    break
        return moved, recounted

    @confirms_persistence
    def sweep(self, user_id: str, *, per_call: int = 16) -> int:
        """Drop the user's postings of documents that are gone (SWEEP_POSTINGS), `per_call` hash fields
        a call; returns how many were dropped."""
        dropped = 0
        script = self._redis.script("SWEEP_POSTINGS")
        for term_key in self._term_keys(user_id):
            cursor = "0"
            while True:
                cursor, step = script(keys=[term_key, keys.memory_docs(user_id)], args=[cursor, per_call])
                dropped += int(step)
                cursor = text(cursor)
                if cursor == "0":
                    break
        return dropped

    def _term_keys(self, user_id: str) -> Iterator[str]:
        for name in self._redis.client.scan_iter(match=keys.user_keys_pattern(user_id, keys.TERM_SUFFIX),
                                                 count=1000):
            yield text(name)
