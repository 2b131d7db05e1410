"""Idempotency-Key over HTTP: which requests carry one, what makes two requests the same, replays.

The rules (reservations, leases, replays, conflicts) are the idempotency
service's; this module reads the header, fingerprints the request, answers a
replay, and records the response (a streamed one only if it ran to a clean end).
"""

from __future__ import annotations

import hashlib
import json
import logging

from flask import current_app, g

from ..errors import StoreUnavailable
from ..services.idempotency import Replay
from .parsing import current_request, request_body_bytes, services
from .streaming import StreamBody

log = logging.getLogger(__name__)

HEADER = "Idempotency-Key"
# Response headers a replay repeats.
REPLAYED_HEADERS = ("Content-Type", "ETag", "Retry-After", "x-conversation-id", "x-memory-injected-count",
                    "x-memory-injected-ids", "x-memory-word-count", "x-memory-token-count",
                    "x-memory-omitted-count", "Cache-Control")


def fingerprint(method: str, path: str, query: str, body: bytes) -> str:
    """What makes two requests "the same": method, path, query and body (JSON compared as data)."""
    try:
        canonical = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")).encode() if body else b""
    except (ValueError, RecursionError):
        canonical = body
    digest = hashlib.sha256()
    for part in (method.encode(), path.encode(), query.encode(), canonical):
        digest.update(len(part).to_bytes(8, "big") + part)
    return digest.hexdigest()


IDEMPOTENT_METHODS = frozenset(("POST", "PATCH", "DELETE"))


def begin_idempotency():
    """before_request hook of the /v1 blueprints (after authentication): for a write that carries an
    Idempotency-Key, answer a replay, or reserve the key for this request (None: go on)."""
    req = current_request()
    if req.method not in IDEMPOTENT_METHODS or HEADER not in req.headers:
        return None
    key = req.headers[HEADER]
    request_fp = fingerprint(req.method, req.path, req.query_string.decode("latin-1"),
                             request_body_bytes(req))
    outcome = services().idempotency.begin(g.principal.user_id, key, request_fp, param=HEADER)
    if isinstance(outcome, Replay):
        response = current_app.response_class(outcome.body, status=outcome.status, headers=outcome.headers)
        response.headers["Idempotent-Replayed"] = "true"
        return response
    g.idempotency = outcome
    return None


def idempotent_id(prefix: str) -> str | None:
    """The id a create under an Idempotency-Key must use (the same on a retry), or None."""
    reservation = g.get("idempotency")
    return f"{prefix}{reservation.nonce}" if reservation else None


def finish_idempotency(response):
    """after_request: store the answer of a request that held an Idempotency-Key."""
    reservation = g.pop("idempotency", None)
    if reservation is None:
        return response
    idempotency = services().idempotency
    status = response.status_code
    headers = {name: response.headers[name] for name in REPLAYED_HEADERS if name in response.headers}
    try:
        if response.is_streamed and status < 300:
            response.response = _RecordedStream(
                response.response,
                on_complete=lambda body: idempotency.finish(reservation, status, headers, body),
                on_abort=lambda: idempotency.abandon(reservation),
            )
        else:
            idempotency.finish(reservation, status, headers, response.get_data())
    except StoreUnavailable:  # the reservation's lease runs out by itself
        log.warning("could not record the outcome of Idempotency-Key request %s", g.get("request_id"))
    return response


class _RecordedStream(StreamBody):
    """Pass a streamed body through; store it for replays only if it ran to a clean end."""

    def __init__(self, chunks, *, on_complete, on_abort) -> None:
        super().__init__(iter(chunks), cleanup=lambda: self._settle(False))
        self._seen: list[bytes] = []
        self._on_complete = on_complete
        self._on_abort = on_abort
        self._settled = False

    def __next__(self) -> bytes:
        try:
            chunk = super().__next__()
        except StopIteration:
            self._settle(not (self._seen and self._seen[-1].startswith(b'data: {"error"')))
            raise
        self._seen.append(chunk)
        return chunk

    def _settle(self, completed: bool) -> None:
        if self._settled:
            return
        self._settled = True
        try:
            self._on_complete(b"".join(self._seen)) if completed else self._on_abort()
        except StoreUnavailable:
            log.warning("could not record the outcome of a streamed Idempotency-Key request")
