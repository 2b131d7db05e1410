"""Memory records in Redis: one hash of records and one id index per user.

Layout (per user, all under the user's hash tag, see keys.py):
  items  HASH  memory id -> compact JSON record (see scripts.py)
  ids    ZSET  memory ids, all scored 0: lexicographic order is creation order,
               so a page is one ZRANGE BYLEX from a cursor, O(log N + limit),
               and a cursor still works after the memory it names is deleted.
One hash for all records costs less per memory than a key (or a hash) per
memory; docs/benchmarks.md has the measured bytes per memory.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from ..models import Memory
from . import keys
from .redis import RedisStore

_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def encode_record(memory: Memory) -> str:
    return _dumps(
        {
            "c": memory.content,
            "m": memory.metadata,
            "u": memory.updated_at,
            "w": memory.word_count,
            "t": memory.token_count,
            "r": memory.revision,
        }
    )


def decode_record(memory_id: str | bytes, raw: str | bytes) -> Memory:
    if isinstance(memory_id, bytes):
        memory_id = memory_id.decode()
    rec = json.loads(raw.decode() if isinstance(raw, bytes) else raw)
    metadata = rec.get("m") or {}  # Lua's cjson writes an empty table as {} or []
    return Memory(
        id=memory_id,
        content=rec["c"],
        metadata=metadata if isinstance(metadata, dict) else {},
        updated_at=int(rec["u"]),
        word_count=int(rec["w"]),
        token_count=int(rec["t"]),
        revision=int(rec["r"]),
    )


@dataclass(frozen=True)
class WriteResult:
    """Outcome of a conditional write: ok, missing, or revision mismatch (`current`)."""

    ok: bool
    memory: Memory | None  # the new (ok) or current (mismatch) memory; None when missing

    @property
    def missing(self) -> bool:
        return not self.ok and self.memory is None


def _accepted(revisions: list[int] | None) -> str:
    """If-Match revisions in the scripts' ",3,4," form; '' accepts any."""
    if revisions is None:
        return ""
    return "," + ",".join(str(r) for r in revisions) + ","


def _write_result(memory_id: str, reply: list) -> WriteResult:
    status = int(reply[0])
    if status == 0:
        return WriteResult(False, None)
    return WriteResult(status == 1, decode_record(memory_id, reply[1]))


class MemoryStore:
    """Reads and writes memories; every write is one Lua script (atomic)."""

    def __init__(self, redis_store: RedisStore) -> None:
        self._redis = redis_store

    def create(self, user_id: str, memory: Memory, *, pipe: Any = None) -> bool:
        """Store a new memory; False if that id exists (a retried create)."""
        script = self._redis.script("CREATE_MEMORY")
        result = script(
            keys=keys.memory_keys(user_id),
            args=[memory.id, encode_record(memory)],
            client=pipe or self._redis.client,
        )
        return pipe is not None or bool(result)

    def get(self, user_id: str, memory_id: str) -> Memory | None:
        raw = self._redis.client.hget(keys.memory_items(user_id), memory_id)
        return None if raw is None else decode_record(memory_id, raw)

    def update(
        self,
        user_id: str,
        memory_id: str,
        *,
        updated_at: int,
        content: tuple[str, int, int] | None = None,
        metadata: dict[str, str] | None = None,
        expected_revisions: list[int] | None = None,
    ) -> WriteResult:
        """Change content (text, words, tokens) and/or metadata, if the revision is one expected."""
        script = self._redis.script("UPDATE_MEMORY")
        text, words, tokens = content if content is not None else ("", 0, 0)
        reply = script(
            keys=[keys.memory_items(user_id)],
            args=[
                memory_id,
                _accepted(expected_revisions),
                updated_at,
                "1" if content is not None else "0", text, words, tokens,
                "1" if metadata is not None else "0", _dumps(metadata or {}),
            ],
        )
        return _write_result(memory_id, reply)

    def delete(self, user_id: str, memory_id: str, *, expected_revisions: list[int] | None = None) -> WriteResult:
        script = self._redis.script("DELETE_MEMORY")
        reply = script(keys=keys.memory_keys(user_id), args=[memory_id, _accepted(expected_revisions)])
        return _write_result(memory_id, reply)

    def page(self, user_id: str, *, lower: str, upper: str, newest_first: bool, count: int) -> list[Memory]:
        """Up to `count` memories with ids between the ZRANGE BYLEX bounds, in walk order."""
        script = self._redis.script("LIST_MEMORIES")
        ids, records = script(
            keys=[keys.memory_ids(user_id), keys.memory_items(user_id)],
            args=[lower, upper, "1" if newest_first else "0", count],
        )
        return [decode_record(i, raw) for i, raw in zip(ids, records) if raw is not None]

    def count(self, user_id: str) -> int:
        return int(self._redis.client.zcard(keys.memory_ids(user_id)))
