"""Idempotency keys: a retried write happens once.

The convention payment APIs use. A write may carry a key; the first request
with a key reserves it (scoped to the user) and, when it has its answer,
stores that answer for the window (MEMORY_API_IDEMPOTENCY_WINDOW_SECONDS,
24 h). A retry with the same key and the same request gets the stored answer
and changes nothing; the same key with a different request is refused (409
`idempotency_key_reused`); a retry while the first attempt still runs is
refused (409 `idempotency_key_in_use`, with Retry-After). Server errors (5xx)
are not stored: the client may retry. (How a request carries its key, and what
makes two requests "the same", is the transport's: api/idempotency.py.)

If the first attempt died before storing its answer (a killed worker), its
reservation's lease runs out and a retry takes it over. Creates stay exactly
once even then: the reservation carries a nonce from which the new object's
id is made, so the retry re-creates the same id, which the store treats as a
no-op.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from dataclasses import dataclass

from ..errors import Conflict, InvalidRequest
from ..ids import new_ulid
from ..store.idempotency import IdempotencyStore

_KEY_RE = re.compile(r"[\x21-\x7e]{1,255}")


@dataclass(frozen=True)
class Reservation:
    """A request that holds an Idempotency-Key and must report how it ended."""

    user_id: str
    key_digest: str
    fingerprint: str
    nonce: str  # a ULID: ids created under this key are made from it


@dataclass(frozen=True)
class Replay:
    status: int
    headers: dict[str, str]
    body: bytes


class IdempotencyService:
    def __init__(self, store: IdempotencyStore, *, window_seconds: float, lease_seconds: float) -> None:
        self._store = store
        self._window_ms = int(window_seconds * 1000)
        self._lease_ms = int(lease_seconds * 1000)

    def begin(self, user_id: str, key: str, request_fingerprint: str, *, param: str) -> Reservation | Replay:
        """Reserve `key` for this request, or return the stored answer of an earlier one.
        `param`: what the client calls the key (errors name it)."""
        if not _KEY_RE.fullmatch(key):
            raise InvalidRequest(
                f"{param} must be 1-255 visible ASCII characters.", param=param, code="invalid_idempotency_key"
            )
        digest = hashlib.sha256(key.encode()).hexdigest()[:32]
        reply = self._store.begin(user_id, digest, request_fingerprint, now_ms=int(time.time() * 1000),
                                  lease_ms=self._lease_ms, window_ms=self._window_ms, nonce=new_ulid())
        outcome = reply[0].decode() if isinstance(reply[0], bytes) else reply[0]
        if outcome in ("new", "takeover"):
            nonce = reply[1].decode() if isinstance(reply[1], bytes) else reply[1]
            return Reservation(user_id, digest, request_fingerprint, nonce)
        if outcome == "mismatch":
            raise Conflict(
                f"This {param} was already used for a different request; use a new key for a new request.",
                param=param, code="idempotency_key_reused",
            )
        if outcome == "busy":
            raise Conflict(
                f"A request with this {param} is still in progress; retry when it has finished.",
                param=param, code="idempotency_key_in_use", retry_after=1,
            )
        status, headers, body = reply[1:]
        return Replay(int(status), json.loads(headers), body if isinstance(body, bytes) else body.encode())

    def finish(self, reservation: Reservation, status: int, headers: dict[str, str], body: bytes) -> None:
        """Store the answer (the headers a replay repeats, and the body); a server error is forgotten
        instead, so a retry runs again."""
        if status >= 500:
            self.abandon(reservation)
            return
        self._store.finish(reservation.user_id, reservation.key_digest, reservation.fingerprint, status,
                           json.dumps(headers), body)

    def abandon(self, reservation: Reservation) -> None:
        self._store.abandon(reservation.user_id, reservation.key_digest, reservation.fingerprint)
