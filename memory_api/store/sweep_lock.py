"""Who sweeps expired memories now: a lock in Redis (SET NX with an expiry, released only by its holder),
so that of any number of workers one sweeps at a time, and a holder that dies gives way when it expires."""

from __future__ import annotations

from . import keys
from .redis import RedisStore, raises_store_unavailable


@raises_store_unavailable
class SweepLock:
    def __init__(self, redis_store: RedisStore) -> None:
        self._redis = redis_store

    def acquire(self, token: str, *, seconds: int) -> bool:
        return bool(self._redis.client.set(keys.expiry_sweep_lock(), token, nx=True, ex=seconds))

    def release(self, token: str) -> None:
        self._redis.script("RELEASE_LOCK")(keys=[keys.expiry_sweep_lock()], args=[token])  # (lock_lua.py)
