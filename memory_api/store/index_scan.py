"""Read-only scans of a user's memory records and the structural indexes that refer to them (for
`check`; the search index verifies itself: index/verify.py).

Only reads, and only raw stored values: what they should be is the consistency
service's business (services/consistency.py).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from . import keys
from .records import text
from .redis import RedisStore, raises_store_unavailable


@dataclass
class UserIndexes:
    """One user's records (decoded, or None where invalid) and structural indexes, as stored."""

    records: dict[str, dict[str, Any] | None]
    ids: set[str]
    updated: dict[str, int]
    stats: dict[str, int]
    tag_counts: dict[str, int]
    scope_counts: dict[str, int]
    tag_members: dict[str, set[str]]  # every tag key's members
    scope_members: dict[str | None, set[str]]  # every scope key's members (None: global)
    histories: set[str]  # memory ids that have a history key
    deleted: set[str]  # deleted memories kept for undo (their history key stays)
    times: dict[str, dict[str, int]]  # record's short name (ta, tv, te) -> its index, id -> time
    vector_model: str | None = None  # the model of the user's vectors
    vector_docs: set[str] | None = None  # document numbers in the vector set (None: no vector sets)


def _decoded(raw) -> dict[str, Any] | None:
    try:
        rec = json.loads(raw)
        valid = isinstance(rec["c"], str) and isinstance(rec["r"], int) and isinstance(rec["n"], int)
        return rec if valid else None
    except (ValueError, KeyError, TypeError):
        return None


@raises_store_unavailable
class IndexScanner:
    def __init__(self, redis_store: RedisStore) -> None:
        self._redis = redis_store

    def users(self) -> Iterator[str]:
        """Every user that has (or had) a memory index."""
        seen = set()
        for name in self._redis.client.scan_iter(match=keys.memory_ids_pattern(), count=1000):
            user = keys.user_of_memory_key(text(name))
            if user is not None and user not in seen:
                seen.add(user)
                yield user

    def _family(self, user_id: str, family: str) -> dict[str, str]:
        """{name: key} for one family of a user's per-name keys."""
        return {keys.family_member(user_id, family, text(k)): text(k) for k in self._redis.client.scan_iter(
            match=keys.user_keys_pattern(user_id, family), count=1000)}

    def _members(self, key: str) -> set[str]:
        return {text(m) for m in self._redis.client.zrange(key, 0, -1)}

    def scan(self, user_id: str) -> UserIndexes:
        c = self._redis.client
        scopes = {name: key for name, key in self._family(user_id, keys.SCOPE_SUFFIX).items()}
        return UserIndexes(
            records={text(i): _decoded(raw) for i, raw in c.hscan_iter(keys.memory_items(user_id), count=1000)},
            ids={text(m) for m, _ in c.zscan_iter(keys.memory_ids(user_id), count=1000)},
            updated={text(m): int(s) for m, s in c.zscan_iter(keys.memory_updated(user_id), count=1000)},
            stats={text(k): int(v) for k, v in c.hgetall(keys.memory_stats(user_id)).items()
                   if text(k) not in ("vmodel", "vprofile")},
            tag_counts={text(k): int(v) for k, v in c.hgetall(keys.tag_counts(user_id)).items()},
            scope_counts={text(k): int(v) for k, v in c.hgetall(keys.scope_counts(user_id)).items()},
            tag_members={tag: self._members(key) for tag, key in self._family(user_id, keys.TAG_SUFFIX).items()},
            scope_members={None: self._members(keys.scope_members(user_id, None)),
                           **{name: self._members(key) for name, key in scopes.items()}},
            histories=set(self._family(user_id, keys.HISTORY_SUFFIX)),
            deleted=self._members(keys.memory_deleted(user_id)),
            times={short: {text(m): int(s) for m, s in c.zscan_iter(key, count=1000)}
                   for short, key in (("ta", keys.memory_occurred(user_id)), ("tv", keys.memory_valid_until(user_id)),
                                      ("te", keys.memory_expires(user_id)))},
            vector_model=text(c.hget(keys.memory_stats(user_id), "vmodel") or b"") or None,
            vector_docs=self._vector_docs(user_id) if self._redis.capabilities().vector_sets else None,
        )

    def _vector_docs(self, user_id: str) -> set[str]:
        key = keys.memory_vectors(user_id)
        size = int(self._redis.client.execute_command("VCARD", key) or 0)
        if not size:
            return set()
        return {text(d) for d in self._redis.client.execute_command("VRANDMEMBER", key, size)}
