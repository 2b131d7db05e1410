"""API keys: creation, lookup, and who a request acts for.

A secret is `sk-mem-` followed by 256 random bits. We store only its sha256:
a fast hash is right for secrets of that entropy (nothing to brute-force). The
first half of the hash finds the record; the whole hash is then compared in
constant time, so how long a check takes never says how close a guess was.
Each worker trusts a lookup for a
few seconds (`MEMORY_API_KEY_CACHE_SECONDS`) so the hot path makes no extra
Redis call; a revoked key therefore stops working within that time.

A user key acts for its user. A service key acts for whichever end user the
trusted backend names in `X-Memory-User`.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import threading
import time
from dataclasses import dataclass

from ..errors import AuthenticationFailed, InvalidRequest, NotFound, PermissionDenied
from ..ids import new_key_id
from ..store.api_keys import ApiKeyRecord, ApiKeyStore

SECRET_PREFIX = "sk-mem-"
USER_HEADER = "X-Memory-User"
DEFAULT_USER = "default"

# Letters, digits and a few separators common in user ids (emails, "auth0|123", uuids).
# No braces, so an id can never change the Redis Cluster hash tag of its keys.
USER_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.@:|+=-]{0,127}$"
_user_id_re = re.compile(USER_ID_PATTERN)
_MAX_HEADER_KEY = 512


@dataclass(frozen=True)
class Principal:
    """Who a request acts for, and with which key."""

    user_id: str
    key_id: str
    kind: str  # "user" or "service"
    service: str | None = None


def validate_user_id(value: object, *, param: str = "user") -> str:
    """Return `value` if it is an acceptable user id, else raise InvalidRequest naming `param`."""
    if not isinstance(value, str) or not _user_id_re.fullmatch(value):
        raise InvalidRequest(
            f"Invalid user id {str(value)[:64]!r}: use 1-128 letters, digits or _.@:|+=- "
            "(starting with a letter or digit).",
            param=param,
            code="invalid_user_id",
        )
    return value


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogateescape")).hexdigest()


def _lookup_part(key_hash: str) -> str:
    return key_hash[:32]


class KeyService:
    """Creates, lists and revokes keys, and authenticates requests."""

    def __init__(self, store: ApiKeyStore, *, cache_seconds: float = 5.0) -> None:
        self._store = store
        self._cache_seconds = cache_seconds
        self._cache: dict[str, tuple[float, ApiKeyRecord]] = {}
        self._cache_lock = threading.Lock()

    # --- administration ----------------------------------------------------

    def create(self, *, user: str | None = None, service: str | None = None) -> tuple[str, ApiKeyRecord]:
        """Make a key for a user or a service; returns (secret, record). The secret is not kept."""
        if (user is None) == (service is None):
            raise ValueError("give exactly one of user or service")
        kind = "user" if user is not None else "service"
        subject = validate_user_id(user if user is not None else service, param=kind)
        secret = SECRET_PREFIX + secrets.token_urlsafe(32)
        record = ApiKeyRecord(
            id=new_key_id(),
            kind=kind,
            subject=subject,
            hint=secret[: len(SECRET_PREFIX) + 4] + "...",
            created_at=int(time.time()),
            sha256=hash_secret(secret),
        )
        self._store.create(record, _lookup_part(record.sha256))
        return secret, record

    def list(self) -> list[ApiKeyRecord]:
        return self._store.all()

    def revoke(self, key_id_or_secret: str) -> ApiKeyRecord:
        """Revoke a key given its id (key_...) or the secret itself."""
        if key_id_or_secret.startswith(SECRET_PREFIX):
            key_hash = hash_secret(key_id_or_secret)
            record = self._store.find(_lookup_part(key_hash))
            if record is not None and not hmac.compare_digest(record.sha256, key_hash):
                record = None
        else:
            record = self._store.find_by_id(key_id_or_secret)
        if record is None or not self._store.revoke(record.id):
            raise NotFound(f"No API key {key_id_or_secret[:16]!r}.", param="key")
        with self._cache_lock:
            self._cache.clear()
        return record

    def ensure_default_key(self) -> str | None:
        """On a store with no keys at all, create one for user `default` and return its secret."""
        if self._store.has_any():
            return None
        secret, _ = self.create(user=DEFAULT_USER)
        return secret

    # --- authentication ----------------------------------------------------

    def authenticate(self, authorization: str | None, user_header: str | None) -> Principal:
        """The principal for a request's Authorization and X-Memory-User headers."""
        record = self._lookup(_bearer_token(authorization))
        if record.kind == "service":
            if user_header is None or user_header == "":
                raise InvalidRequest(
                    f"A service key must name the end user it acts for in the {USER_HEADER} header.",
                    param=USER_HEADER,
                    code="missing_user",
                )
            user_id = validate_user_id(user_header, param=USER_HEADER)
            return Principal(user_id=user_id, key_id=record.id, kind="service", service=record.subject)
        if user_header is not None and user_header != record.subject:
            raise PermissionDenied(
                f"A user key acts only for its own user; {USER_HEADER} needs a service key.",
                param=USER_HEADER,
                code="user_override_not_allowed",
            )
        return Principal(user_id=record.subject, key_id=record.id, kind="user")

    def authenticate_service(self, authorization: str | None) -> ApiKeyRecord:
        """The service key in an Authorization header, for what only an operator's backend may read
        (the metrics); a user key is refused with 403."""
        record = self._lookup(_bearer_token(authorization))
        if record.kind != "service":
            raise PermissionDenied("Only a service key may read this.", code="service_key_required")
        return record

    def identify(self, authorization: str | None) -> str | None:
        """The id of the valid key in an Authorization header, however its scheme is spelled; None
        without one (a StoreUnavailable still raises). Rate limits count by it."""
        try:
            return self._lookup(_bearer_token(authorization)).id
        except AuthenticationFailed:
            return None

    def _lookup(self, secret: str) -> ApiKeyRecord:
        key_hash = hash_secret(secret)
        now = time.monotonic()
        cached = self._cache.get(key_hash)
        if cached is not None and cached[0] > now:
            return cached[1]
        record = self._store.find(_lookup_part(key_hash))
        if record is None or not hmac.compare_digest(record.sha256, key_hash):
            raise AuthenticationFailed("Incorrect API key provided.", key_given=True)
        with self._cache_lock:
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[key_hash] = (now + self._cache_seconds, record)
        return record


def _bearer_token(authorization: str | None) -> str:
    if not authorization:
        raise AuthenticationFailed(
            "You didn't provide an API key. Send it in the Authorization header "
            "(Authorization: Bearer YOUR_KEY)."
        )
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or len(token) > _MAX_HEADER_KEY:
        raise AuthenticationFailed(
            "Malformed Authorization header: expected 'Bearer YOUR_KEY'.", key_given=True
        )
    return token
