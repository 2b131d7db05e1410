"""How a memory is stored: its record's encoding, and the values store writes exchange with services."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import orjson

from ..models import Memory

dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def record_of(memory: Memory) -> dict[str, Any]:
    """A memory's stored record (short field names; the document number `n` is added by Redis; `o`,
    `x`, `y`: its source, origin and reason, absent for the commonest case, a user's write through the
    API; `ta`, `tv`, `te`: its occurred_at, valid_until and expires_at, absent when unset; `sp`: the
    memory it supersedes; `au`: the user who wrote this version; `sx`: the shared space it is in)."""
    rec: dict[str, Any] = {
        "c": memory.content,
        "m": memory.metadata,
        "u": memory.updated_at,
        "w": memory.word_count,
        "t": memory.token_count,
        "r": memory.revision,
    }
    if memory.tags:
        rec["g"] = list(memory.tags)
    if memory.scope:
        rec["s"] = memory.scope
    if memory.source != "api":
        rec["o"] = memory.source
    if memory.origin:
        rec["x"] = memory.origin
    if memory.reason:
        rec["y"] = memory.reason
    for short, value in (("ta", memory.occurred_at), ("tv", memory.valid_until), ("te", memory.expires_at)):
        if value is not None:
            rec[short] = value
    if memory.supersedes:
        rec["sp"] = memory.supersedes
    if memory.author:
        rec["au"] = memory.author
    if memory.space:
        rec["sx"] = memory.space
    return rec


def encode_record(memory: Memory) -> str:
    return dumps(record_of(memory))


# Decoded records by (id, stored bytes). A chat weighs a couple of hundred records, mostly the same
# ones from one chat to the next; the bytes are the whole record (its revision, times and document
# number included), so an entry can never be out of date: a changed memory is other bytes. Bounded,
# and emptied whole when full (no LRU bookkeeping on the hot path); the Memory objects are immutable
# and carry no user, so sharing one between requests shares nothing a request could not read itself.
_DECODED: dict[tuple[str | bytes, bytes], Memory] = {}
DECODED_CACHE_SIZE = 8192


def decode_record(memory_id: str | bytes, raw: str | bytes) -> Memory:
    """The memory a stored record holds (a cached decoding when these bytes were decoded before)."""
    if isinstance(raw, bytes):
        key = (memory_id, raw)
        memory = _DECODED.get(key)
        if memory is None:
            memory = _decode_record(memory_id, raw)
            if len(_DECODED) >= DECODED_CACHE_SIZE:
                _DECODED.clear()
            _DECODED[key] = memory
        return memory
    return _decode_record(memory_id, raw)


def _decode_record(memory_id: str | bytes, raw: str | bytes) -> Memory:
    """A chat decodes a couple of hundred records (its ranked candidates), so this is kept cheap:
    orjson parses about five times faster than json, and the Memory is made without the frozen
    dataclass's __setattr__ per field (Memory.from_trusted_fields)."""
    try:
        rec = orjson.loads(raw)
    except orjson.JSONDecodeError:  # stricter than json (a lone surrogate escape): never refuse a stored record
        rec = json.loads(raw)
    metadata = rec.get("m") or {}  # Lua's cjson writes an empty table as {} or []
    tags = rec.get("g") or ()
    return Memory.from_trusted_fields(
        id=memory_id.decode() if isinstance(memory_id, bytes) else memory_id,
        content=rec["c"],
        metadata=metadata if isinstance(metadata, dict) else {},
        updated_at=int(rec["u"]),
        word_count=int(rec["w"]),
        token_count=int(rec["t"]),
        revision=int(rec["r"]),
        tags=tuple(tags) if isinstance(tags, list) else (),
        scope=rec.get("s") or None,
        docno=int(rec.get("n", 0)),
        source=rec.get("o") or "api",
        origin=rec.get("x") if isinstance(rec.get("x"), dict) else None,
        reason=rec.get("y") or None,
        occurred_at=rec.get("ta"),
        valid_until=rec.get("tv"),
        expires_at=rec.get("te"),
        supersedes=rec.get("sp"),
        author=rec.get("au"),
        space=rec.get("sx"),
    )


@dataclass(frozen=True)
class WriteResult:
    """Outcome of a conditional write: ok, missing, or revision mismatch (`memory` is the current one)."""

    ok: bool
    memory: Memory | None

    @property
    def missing(self) -> bool:
        return not self.ok and self.memory is None


class QuotaExceeded(Exception):
    def __init__(self, what: str) -> None:
        super().__init__(what)
        self.what = what  # "count" or "words"


class MemoryExists(Exception):
    """A restore of a memory that is stored (it was not deleted, or is back already)."""


class NothingToRestore(Exception):
    """A restore of a memory no delete of which is kept (never deleted, or kept no longer)."""


class TimesOutOfOrder(Exception):
    """An update would leave a memory's valid_until before its occurred_at (nothing was written)."""

    def __init__(self, occurred_at: int, valid_until: int) -> None:
        super().__init__(f"valid_until {valid_until} before occurred_at {occurred_at}")
        self.occurred_at = occurred_at
        self.valid_until = valid_until


class DuplicateContent(Exception):
    """A new memory equals one already stored, or an earlier one of the same batch (nothing was stored)."""

    def __init__(self, index: int, equal_to: str) -> None:
        super().__init__(equal_to)
        self.index = index  # which of the new memories
        self.equal_to = equal_to  # the id it equals: a stored memory's, or another new one's


def text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else value


def hash_pairs(reply) -> list:
    """HGETALL as (field, value) pairs, whether RESP3 made it a dict or RESP2 a flat list."""
    if isinstance(reply, dict):
        return list(reply.items())
    return list(zip(reply[0::2], reply[1::2]))
