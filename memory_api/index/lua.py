"""The search index's side of every memory write script, and its own upkeep scripts.

A memory write script (store/memory_lua.py) includes DOCUMENT_LUA after its
prelude and calls `index_document` / `unindex_document`; they keep the index's
keys in step with the record in the same script:

  docs    HASH docno -> "<memory id> <length in terms> <content fingerprint>" (document_entry)
  t:*     one HASH of postings per term (index/postings.py)
  dedup   HASH "<scope>|<fingerprint>" -> "id id ..." (duplicate_field): every memory with a content
  stats   field `terms`: the sum of the documents' lengths (BM25's average document length)

They need the prelude's DOCS, STATS and DEDUP keys and its `key(family, name)`.
"""

from __future__ import annotations

from .postings import ENTRY_LUA, POSTINGS_LUA


def document_entry(memory_id: str, length: int, fingerprint: str) -> str:
    """A document's entry in the user's docs hash (the Lua `index_document` writes the same)."""
    return f"{memory_id} {length} {fingerprint}"


def duplicate_field(scope: str | None, fingerprint: str) -> str:
    """The duplicate map's field for a content in a scope (the Lua `duplicate_field` makes the same)."""
    return f"{scope or ''}|{fingerprint}"


DOCUMENT_LUA = POSTINGS_LUA + """
local function duplicate_field(scope, fingerprint)
  return (scope or '') .. '|' .. fingerprint
end

-- The first stored memory with this content in this scope, or nil.
local function duplicate_of(scope, fingerprint)
  return string.match(redis.call('HGET', DEDUP, duplicate_field(scope, fingerprint)) or '', '^(%S+)')
end

-- The duplicate map lists every memory with a content (an update may give one the content of another:
-- creates refuse duplicates, updates do not), so deleting one leaves the others findable. Almost every
-- list has one id; the first is the one a refused create names.
local function dedup_add(field, id)
  local ids = redis.call('HGET', DEDUP, field)
  if not ids then
    redis.call('HSET', DEDUP, field, id)
  elseif string.find(' ' .. ids .. ' ', ' ' .. id .. ' ', 1, true) == nil then
    redis.call('HSET', DEDUP, field, ids .. ' ' .. id)
  end
end

local function dedup_remove(field, id)
  local ids = redis.call('HGET', DEDUP, field)
  if not ids then return end
  local kept = {}
  for other in string.gmatch(ids, '%S+') do
    if other ~= id then kept[#kept + 1] = other end
  end
  if #kept == 0 then
    redis.call('HDEL', DEDUP, field)
  else
    redis.call('HSET', DEDUP, field, table.concat(kept, ' '))
  end
end

-- Index document `docno` of memory `id`: its terms ("term tf term tf ..."), length and fingerprint.
-- `same_postings`: it was just unindexed with the same terms and number (a change of metadata, tags or
-- scope), so its postings stay as they are, neither unposted nor posted again.
local function index_document(id, docno, scope, terms, len, fingerprint, same_postings)
  redis.call('HSET', DOCS, docno, id .. ' ' .. len .. ' ' .. fingerprint)
  -- A posting gives the document tf * 65536 + document length (BM25 needs both; each capped at 65535,
  -- index/postings.py `packed`), so a search reads everything it scores with from the postings alone.
  if not same_postings then
    local capped_len = math.min(len, 65535)
    for term, tf in string.gmatch(terms, '(%S+) (%d+)') do
      post(term, docno, math.min(tonumber(tf), 65535) * 65536 + capped_len)
    end
  end
  redis.call('HINCRBY', STATS, 'terms', len)
  dedup_add(duplicate_field(scope, fingerprint), id)
end

-- Take document `docno` of memory `id` out of the index, given the terms it was indexed with; returns
-- its length and fingerprint.
local function unindex_document(id, docno, scope, terms, same_postings)
  local len, fingerprint = string.match(redis.call('HGET', DOCS, docno) or '', '^%S+ (%d+) (%S+)$')
  len = tonumber(len)
  if not len then
    -- No entry: never indexed (a memory `memory-api migrate` copied), or the entry was lost (damage).
    -- Posted, it counted in the terms counter with the length its terms give, which comes off again.
    len = 0
    local first = string.match(terms, '^(%S+) %d+')
    if first and posted(first, docno) then
      for tf in string.gmatch(terms, '%S+ (%d+)') do len = len + tonumber(tf) end
    end
  end
  if not same_postings then
    for term in string.gmatch(terms, '(%S+) %d+') do
      unpost(term, docno)
    end
  end
  redis.call('HDEL', DOCS, docno)
  -- 0 - x, not -x: Lua writes -0 as "-0", which HINCRBY refuses
  redis.call('HINCRBY', STATS, 'terms', 0 - len)
  if fingerprint then dedup_remove(duplicate_field(scope, fingerprint), id) end
  return len, fingerprint or ''
end
"""

# The memory id of a docs entry (document_entry), for scripts that turn ranked documents into memories.
DOCUMENT_ID_LUA = """
local function document_id(entry)
  if not entry then return nil end  -- a deleted document has no entry
  local space = string.find(entry, ' ', 1, true)  -- a plain find: a third of the cost of a pattern match
  local id = string.sub(entry, 1, (space or #entry + 1) - 1)
  if id == '' then return nil end
  return id
end
"""

UNPOST_DOCUMENTS = """
-- Take documents out of a term's postings that must not be there: a document that is gone, or one whose
-- content has no such term (damage `check` names: every write unposts what it unindexes). Document
-- numbers are never reused and a document's content never changes, so no write can want them back.
-- KEYS[1]: the term's postings; ARGV: document numbers. Returns how many were listed.
local function key() return KEYS[1] end
""" + POSTINGS_LUA + """
local before = tonumber(redis.call('HGET', KEYS[1], 'df') or '0')
for _, docno in ipairs(ARGV) do unpost(nil, tonumber(docno)) end
return before - tonumber(redis.call('HGET', KEYS[1], 'df') or '0')
"""

MEND_POSTINGS = ENTRY_LUA + """
-- Make a term's hash well-formed again (a repair of damage `check` names): every bucket cut to whole
-- entries in ascending order, each document once (the first entry kept: `reindex` then re-indexes the
-- memories it lists, which writes their right values), fields that are no bucket dropped, and the count
-- set to what it lists. KEYS[1]: the term's postings. Returns 1 if anything changed, else 0.
local k = KEYS[1]
local all, changed = redis.call('HGETALL', k), 0
for i = 1, #all, 2 do
  local field, value = all[i], all[i + 1]
  if string.match(field, '^b%d+$') then
    local entries, offsets = {}, {}
    for at = 1, #value - 4, 5 do
      local offset = string.byte(value, at)
      if not entries[offset] then
        entries[offset] = string.sub(value, at, at + 4)
        offsets[#offsets + 1] = offset
      end
    end
    table.sort(offsets)
    local parts = {}
    for j, offset in ipairs(offsets) do parts[j] = entries[offset] end
    local mended = table.concat(parts)
    if mended ~= value then
      changed = 1
      if mended == '' then redis.call('HDEL', k, field) else redis.call('HSET', k, field, mended) end
    end
  elseif field ~= 'df' then
    redis.call('HDEL', k, field)
    changed = 1
  end
end
local n = recount(k)
if n == 0 then
  redis.call('DEL', k)
  return math.min(1, changed + #all)  -- a count, or damage, with no posting left
end
if redis.call('HGET', k, 'df') ~= tostring(n) then
  redis.call('HSET', k, 'df', n)
  changed = 1
end
return changed
"""
