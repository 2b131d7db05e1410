"""API key records in Redis. Only the sha256 of a secret is ever stored.

  key:<lookup>  HASH  id, kind (user|service), subject (user id or service name),
                      hint (first characters of the secret, for `keys list`),
                      created_at, sha256 (of the whole secret)
  keys          HASH  key id -> lookup, to list and revoke keys by id
`lookup` is the first half of the sha256: it finds the record, and the full
hash is then compared in constant time (see auth.py).
Both live under one hash tag, so creating or revoking a key is one atomic script.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from . import keys
from .redis import RedisStore, confirms_persistence, raises_store_unavailable


@dataclass(frozen=True)
class ApiKeyRecord:
    id: str
    kind: str  # "user" or "service"
    subject: str  # the user id, or the service's name
    hint: str
    created_at: int
    sha256: str


def _decode(raw: dict) -> ApiKeyRecord | None:
    if not raw:
        return None
    values = {k.decode(): v.decode() for k, v in raw.items()}
    return ApiKeyRecord(
        id=values["id"],
        kind=values["kind"],
        subject=values["subject"],
        hint=values.get("hint", ""),
        created_at=int(values.get("created_at", 0)),
        sha256=values.get("sha256", ""),
    )


@raises_store_unavailable
class ApiKeyStore:
    def __init__(self, redis_store: RedisStore) -> None:
        self._redis = redis_store

    @confirms_persistence
    def create(self, record: ApiKeyRecord, lookup: str) -> None:
        fields: list = []
        for name, value in asdict(record).items():
            fields += [name, value]
        self._redis.script("CREATE_API_KEY")(
            keys=[keys.api_key_by_hash(lookup), keys.api_key_index()],
            args=[record.id, lookup, *fields],
        )

    def find(self, lookup: str) -> ApiKeyRecord | None:
        return _decode(self._redis.client.hgetall(keys.api_key_by_hash(lookup)))

    def find_by_id(self, key_id: str) -> ApiKeyRecord | None:
        lookup = self._lookup_of(key_id)
        return self.find(lookup) if lookup else None

    def all(self) -> list[ApiKeyRecord]:
        client = self._redis.client
        hashes = [h.decode() for h in client.hvals(keys.api_key_index())]
        pipe = client.pipeline(transaction=False)
        for key_hash in hashes:
            pipe.hgetall(keys.api_key_by_hash(key_hash))
        records = [_decode(raw) for raw in pipe.execute()] if hashes else []
        return sorted((r for r in records if r), key=lambda r: r.id)

    def has_any(self) -> bool:
        return bool(self._redis.client.hlen(keys.api_key_index()))

    def _lookup_of(self, key_id: str) -> str | None:
        value = self._redis.client.hget(keys.api_key_index(), key_id)
        return value.decode() if value else None

    @confirms_persistence
    def revoke(self, key_id: str) -> bool:
        lookup = self._lookup_of(key_id)
        if lookup is None:
            return False
        return bool(
            self._redis.script("REVOKE_API_KEY")(
                keys=[keys.api_key_index(), keys.api_key_by_hash(lookup)],
                args=[key_id, lookup],
            )
        )
