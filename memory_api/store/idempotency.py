"""Idempotency-Key records: one HASH per (user, key), expiring after the window."""

from __future__ import annotations

from . import keys
from .redis import RedisStore, raises_store_unavailable


@raises_store_unavailable
class IdempotencyStore:
    def __init__(self, redis_store: RedisStore) -> None:
        self._redis = redis_store

    def begin(self, user_id: str, key_digest: str, fingerprint: str, *, now_ms: int, lease_ms: int,
              window_ms: int, nonce: str) -> list:
        reply = self._redis.script("IDEMPOTENCY_BEGIN")(
            keys=[keys.idempotency_record(user_id, key_digest)],
            args=[fingerprint, now_ms, lease_ms, window_ms, nonce],
        )
        return [part.decode() if isinstance(part, bytes) else part for part in reply]

    def finish(self, user_id: str, key_digest: str, fingerprint: str, status: int, headers_json: str,
               body: bytes) -> None:
        self._redis.script("IDEMPOTENCY_FINISH")(
            keys=[keys.idempotency_record(user_id, key_digest)], args=[fingerprint, status, headers_json, body]
        )

    def abandon(self, user_id: str, key_digest: str, fingerprint: str) -> None:
        self._redis.script("IDEMPOTENCY_ABANDON")(
            keys=[keys.idempotency_record(user_id, key_digest)], args=[fingerprint]
        )
