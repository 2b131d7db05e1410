"""Slots of the per-API-key cap on concurrent streams, in Redis so every worker and server agrees."""

from __future__ import annotations

import secrets

from . import keys
from .redis import RedisStore, raises_store_unavailable


@raises_store_unavailable
class StreamSlotStore:
    def __init__(self, redis_store: RedisStore) -> None:
        self._redis = redis_store

    def try_acquire(self, key_id: str, *, cap: int, lease_ms: int) -> str | None:
        """Take one of `key_id`'s `cap` slots for `lease_ms`; its token, or None when all are taken."""
        token = secrets.token_hex(8)
        taken = self._redis.script("ACQUIRE_STREAM_SLOT")(keys=[keys.stream_slots(key_id)],
                                                          args=[token, lease_ms, cap])
        return token if int(taken) == 1 else None

    def renew(self, key_id: str, token: str, *, lease_ms: int) -> bool:
        """Extend a held slot's lease; False if it had already run out."""
        return int(self._redis.script("RENEW_STREAM_SLOT")(keys=[keys.stream_slots(key_id)],
                                                           args=[token, lease_ms])) == 1

    def release(self, key_id: str, token: str) -> None:
        self._redis.client.zrem(keys.stream_slots(key_id), token)

    def held(self, key_id: str) -> int:
        """How many slots are taken now (leases that ran out included until the next acquire)."""
        return int(self._redis.client.zcard(keys.stream_slots(key_id)))
