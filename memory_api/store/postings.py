"""How the search index stores a term's postings, and how they are read back.

A term's HASH (keys.term_postings) lists the documents it occurs in, in buckets
of BUCKET_SIZE document numbers: field ``b<docno // 256>`` holds 5-byte entries,
the document number's last byte (docno % 256) then tf * 65536 + document length
as a big-endian uint32, in ascending document order; field ``df`` counts the
documents the hash lists. One posting used to be one hash field
("<docno>" -> "<tf * 65536 + length>"), which in a hash too big to be a
listpack costs ~50 bytes (a dict entry, two strings, allocator rounding): 1,579
of the 4,032 bytes a memory cost at 100,000 memories. In a bucket it costs five
bytes plus its share of the bucket's field (docs/benchmarks.md).

Hashes written before buckets keep their one-field postings: they are still
read (any field that is a plain document number), removed as before, and
counted in ``df`` once the hash gets its first bucket; `memory-api reindex`
rewrites them into buckets. The Lua side (write scripts) is POSTINGS_LUA,
used by store/memory_lua_prelude.py.
"""

from __future__ import annotations

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
    (bucket_problem) is read as far as it can be, never failing a search; `memory-api check` names it."""
    out: list[tuple[bytes, int]] = []
    for field, value in pairs:
        if field[:1] == b"b":
            if not field[1:].isdigit():
                continue
            base = int(field[1:]) * BUCKET_SIZE
            out.extend((b"%d" % (base + offset), packed)
                       for offset, packed in _ENTRY.iter_unpack(_whole_entries(value)))
        elif field != DF_FIELD and field.isdigit() and value.isdigit():
            out.append((field, int(value)))  # one posting per field, written before buckets
    return out


def bucket_problem(field: bytes, value: bytes) -> str | None:
    """What is wrong with one field of a term's hash (None: nothing): a bucket must be named b<number>
    and hold whole 5-byte entries in strictly ascending order (the write scripts' binary search relies
    on it); any other field is `df` or a one-field posting (digits -> digits)."""
    if field[:1] == b"b":
        if not field[1:].isdigit():
            return f"a field {field.decode(errors='replace')!r} that is no bucket"
        if not value or len(value) % _ENTRY.size:
            return f"bucket {field.decode()} is {len(value)} bytes, not whole 5-byte entries"
        offsets = value[0::_ENTRY.size]
        if any(a >= b for a, b in zip(offsets, offsets[1:])):
            return f"bucket {field.decode()} is not in ascending order"
        return None
    if field == DF_FIELD:
        return None if value.lstrip(b"-").isdigit() else f"a count {value!r} that is no number"
    if not (field.isdigit() and value.isdigit()):
        return f"a field {field.decode(errors='replace')!r} that is neither a bucket nor a posting"
    return None


def document_count(df: Any, fields: int) -> int:
    """How many documents a term occurs in, from its hash's `df` field (None: a hash from before buckets,
    where every field is one posting) and its number of fields."""
    if df is None:
        return int(fields)
    try:
        return int(df)
    except ValueError:  # a damaged count: the term reads as absent until `memory-api reindex` recounts it
        return 0


def find(bucket: bytes | None, docno: int) -> int | None:
    """The stored tf * 65536 + length of `docno` in its bucket's value, None if it is not listed."""
    if not bucket:
        return None
    offset = docno % BUCKET_SIZE
    for entry_offset, packed in _ENTRY.iter_unpack(_whole_entries(bucket)):
        if entry_offset == offset:
            return packed
    return None


# The write scripts' side of the same layout (store/memory_lua_prelude.py, COMPACT_POSTINGS): an entry's
# bytes, and where an entry goes in a bucket. Entries stay in ascending order, found by binary search, so
# a bucket holding 256 documents costs 8 probes, not a scan.
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

-- How many postings a term's hash lists, counted (bucket entries and one-field postings).
local function recount(k)
  local all, n = redis.call('HGETALL', k), 0
  for i = 1, #all, 2 do
    if string.sub(all[i], 1, 1) == 'b' then
      n = n + math.floor(#all[i + 1] / 5)
    elseif all[i] ~= 'df' then
      n = n + 1
    end
  end
  return n
end

-- After a removal took the count to `left`: at 0 the hash goes, unless postings remain (a wrong count,
-- e.g. from a writer of the previous version, which knew no df): then they are counted again, never
-- dropped with it.
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
  if redis.call('HINCRBY', k, 'df', 1) == 1 then
    -- The hash's first bucket: count the one-field postings written before buckets, if any.
    local older = redis.call('HLEN', k) - 2
    if older > 0 then redis.call('HINCRBY', k, 'df', older) end
  end
end

local function unpost(term, docno)
  local k = key('t', term)
  if redis.call('HDEL', k, docno) == 1 then
    -- A one-field posting from before buckets (a hash without buckets has no df, and goes with its
    -- last field).
    if redis.call('HEXISTS', k, 'df') == 1 then settle(k, redis.call('HINCRBY', k, 'df', -1)) end
    return
  end
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
