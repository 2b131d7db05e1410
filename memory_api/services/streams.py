"""The per-API-key cap on concurrent streams, chat completions and responses together
(MEMORY_API_MAX_STREAMS_PER_KEY).

A stream holds a connection to the model provider for as long as the model writes, so one key
opening many at once could take the provider's (and our) capacity from everyone else. Each
stream holds a slot, counted in Redis so the cap holds across workers and servers. A slot is
leased: one whose worker died mid-stream stops counting when its lease runs out, and a live
stream renews its lease as events arrive.
"""

from __future__ import annotations

import logging
import time

from .. import metrics
from ..errors import RateLimited
from ..store.stream_slots import StreamSlotStore

log = logging.getLogger(__name__)

# How often a live stream renews its slot's lease, at most.
_RENEW_EVERY_SECONDS = 5.0


class StreamSlot:
    """One held slot: renew it while the stream runs, release it when the stream ends."""

    def __init__(self, store: StreamSlotStore | None, key_id: str, token: str, lease_ms: int) -> None:
        self._store = store
        self._key_id = key_id
        self._token = token
        self._lease_ms = lease_ms
        self._renewed_at = time.monotonic()
        self._released = store is None

    def keep_alive(self) -> None:
        """Extend the lease during a long stream (at most every few seconds)."""
        now = time.monotonic()
        if self._store is not None and not self._released and now - self._renewed_at > _RENEW_EVERY_SECONDS:
            self._renewed_at = now
            self._store.renew(self._key_id, self._token, lease_ms=self._lease_ms)

    def release(self) -> None:
        if self._released or self._store is None:  # without a store, a slot is released from the start
            return
        self._released = True
        try:
            self._store.release(self._key_id, self._token)
        except Exception:  # the lease runs out by itself; never mask the request's own outcome
            log.warning("could not release a stream slot of key %s", self._key_id, exc_info=True)


class StreamLimiter:
    def __init__(self, store: StreamSlotStore, *, max_per_key: int, lease_seconds: float) -> None:
        self._store = store
        self._max_per_key = max_per_key
        self._lease_ms = int(lease_seconds * 1000)

    def acquire(self, key_id: str) -> StreamSlot:
        """A slot for one more stream of `key_id`; RateLimited (429) when it has the most it may."""
        if self._max_per_key == 0:
            return StreamSlot(None, key_id, "", 0)
        token = self._store.try_acquire(key_id, cap=self._max_per_key, lease_ms=self._lease_ms)
        if token is None:
            recorder = metrics.active()
            if recorder is not None:
                recorder.rate_limit_refused("streams")
            raise RateLimited(
                f"This API key already has {self._max_per_key} streams open (chat completions and responses), "
                "the most it may have at once; retry when one has finished.",
                code="too_many_streams", retry_after=1,
            )
        return StreamSlot(self._store, key_id, token, self._lease_ms)
