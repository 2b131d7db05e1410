"""How a term's postings are stored, read back, and checked.

A term's HASH (keys.term_postings) lists the documents it occurs in, in buckets
of BUCKET_SIZE document numbers: field ``b<docno // 256>`` holds 5-byte entries,
the document number's last byte (docno % 256) then tf * 65536 + document length
as a big-endian uint32, in ascending document order; field ``df`` counts the
documents the hash lists. A posting costs five bytes plus its share of the
bucket's field (one field per posting cost ~50 bytes in a hash too big to be a
listpack: docs/benchmarks.md).

The write scripts' side of the same layout is POSTINGS_LUA (index/lua.py
includes it); nothing outside this package knows a posting's bytes.
"""

from __future__ import annotations

import itertools
import struct
from typing import Any

BUCKET_SIZE = 256  # document numbers per bucket: an entry keeps one byte of its document number
DF_FIELD = b"df"
_ENTRY = struct.Struct(">BI")


def packed(tf: int, length: int) -> int:
    """A posting's value: tf * 65536 + document length, each capped at 65,535 (a memory longer than that in
    terms, with MEMORY_API_MAX_CONTENT_CHARS raised far, scores as if it were that long)."""
    return min(tf, 0xFFFF) * 65536 + min(length, 0xFFFF)


def bucket_field(docno: int) -> str:
    """The field of the bucket that lists document `docno`."""
    return f"b{docno // BUCKET_SIZE}"


def encode_bucket(entries: list[tuple[int, int]]) -> bytes:
    """A bucket's value from (docno, tf * 65536 + length) pairs of one bucket (for tests and tools)."""
    return b"".join(_ENTRY.pack(docno % BUCKET_SIZE, value) for docno, value in sorted(entries))


def _whole_entries(bucket: bytes) -> bytes:
    """A bucket's value without a torn last entry (damage `check` reports), so reading never fails on it."""
    return bucket[:len(bucket) - len(bucket) % _ENTRY.size]


def decode(pairs: list[tuple[Any, Any]]) -> list[tuple[bytes, int]]:
    """(docno, tf * 65536 + length) for every document a term's hash lists, from its (field, value) pairs
    (HGETALL, raw bytes); docno as bytes, the way vector search names documents too. A damaged field
    (field_problem) is read as far as it can be, never failing a search; `memory-api check` names it."""
    out: list[tuple[bytes, int]] = []
    for field, value in pairs:
        if field[:1] == b"b" and field[1:].isdigit():
            base = int(field[1:]) * BUCKET_SIZE
            out.extend((b"%d" % (base + offset), posting)
                       for offset, posting in _ENTRY.iter_unpack(_whole_entries(value)))
    return out


def field_problem(field: bytes, value: bytes) -> str | None:
    """What is wrong with one field of a term's hash (None: nothing): a bucket must be named b<number>
    and hold whole 5-byte entries in strictly ascending order (the write scripts' binary search relies
    on it); the only other field is `df`."""
    name = field.decode(errors="replace")
    if field == DF_FIELD:
        return None if value.isdigit() else f"a count {value!r} that is no number"
    if field[:1] != b"b" or not field[1:].isdigit():
        return f"a field {name!r} that is no bucket"
    if not value or len(value) % _ENTRY.size:
        return f"bucket {name} is {len(value)} bytes, not whole 5-byte entries"
    offsets = value[0::_ENTRY.size]
    if any(a >= b for a, b in itertools.pairwise(offsets)):
        return f"bucket {name} is not in ascending order"
    return None


def document_count(df: Any) -> int:
    """How many documents a term occurs in, from its hash's `df` field (None: the term is in no memory)."""
    try:
        return int(df) if df is not None else 0
    except ValueError:  # a damaged count: the term reads as absent until `memory-api reindex` recounts it
        return 0


def find(bucket: bytes | None, docno: int) -> int | None:
    """The stored tf * 65536 + length of `docno` in its bucket's value, None if it is not listed."""
    if not bucket:
        return None
    offset = docno % BUCKET_SIZE
    for entry_offset, posting in _ENTRY.iter_unpack(_whole_entries(bucket)):
        if entry_offset == offset:
            return posting
    return None


# The Lua side: an entry's bytes, where an entry goes in a bucket, and a term's count. Entries stay in
# ascending order, found by binary search, so a bucket holding 256 documents costs 8 probes, not a scan.
ENTRY_LUA = """
local function posting_entry(offset, value)
  return string.char(offset, math.floor(value / 16777216) % 256, math.floor(value / 65536) % 256,
                     math.floor(value / 256) % 256, value % 256)
end

-- The 1-based position of the first entry of `bucket` whose offset is >= `offset` (#bucket + 1: none).
local function entry_position(bucket, offset)
  local low, high = 0, #bucket / 5
  while low < high do
    local middle = math.floor((low + high) / 2)
    if string.byte(bucket, middle * 5 + 1) < offset then low = middle + 1 else high = middle end
  end
  return low * 5 + 1
end

-- How many postings a term's hash lists, counted.
local function recount(k)
  local all, n = redis.call('HGETALL', k), 0
  for i = 1, #all, 2 do
    if string.sub(all[i], 1, 1) == 'b' then n = n + math.floor(#all[i + 1] / 5) end
  end
  return n
end

-- After a removal took the count to `left`: at 0 the hash goes, unless postings remain (a damaged
-- count): then they are counted again, never dropped with it.
local function settle(k, left)
  if left > 0 then return end
  local n = recount(k)
  if n == 0 then redis.call('DEL', k) else redis.call('HSET', k, 'df', n) end
end
"""

# `post` and `unpost` a document (they need the prelude's `key`); a new document (numbers only grow) is
# appended.
POSTINGS_LUA = ENTRY_LUA + """
local function post(term, docno, value)
  local k = key('t', term)
  local field, offset = 'b' .. math.floor(docno / 256), docno % 256
  local bucket = redis.call('HGET', k, field) or ''
  local at = entry_position(bucket, offset)
  local entry = posting_entry(offset, value)
  if at <= #bucket and string.byte(bucket, at) == offset then
    -- Already listed (index always follows unindex, so never expected): replaced, not counted twice.
    redis.call('HSET', k, field, string.sub(bucket, 1, at - 1) .. entry .. string.sub(bucket, at + 5))
    return
  end
  redis.call('HSET', k, field, string.sub(bucket, 1, at - 1) .. entry .. string.sub(bucket, at))
  redis.call('HINCRBY', k, 'df', 1)
end

-- Whether the term's postings list the document.
local function posted(term, docno)
  local bucket = redis.call('HGET', key('t', term), 'b' .. math.floor(docno / 256))
  if not bucket then return false end
  local at = entry_position(bucket, docno % 256)
  return at <= #bucket and string.byte(bucket, at) == docno % 256
end

local function unpost(term, docno)
  local k = key('t', term)
  local field, offset = 'b' .. math.floor(docno / 256), docno % 256
  local bucket = redis.call('HGET', k, field)
  if not bucket then return end
  local at = entry_position(bucket, offset)
  if at > #bucket or string.byte(bucket, at) ~= offset then return end
  if #bucket == 5 then
    redis.call('HDEL', k, field)
  else
    redis.call('HSET', k, field, string.sub(bucket, 1, at - 1) .. string.sub(bucket, at + 5))
  end
  settle(k, redis.call('HINCRBY', k, 'df', -1))
end
"""
