"""Lua scripts that write memories: each keeps the record and every index in step, atomically.

Each is the shared PRELUDE (memory_lua_prelude.py: the KEYS, the record layout and the index helpers)
followed by its own plan. Every key a script touches arrives in KEYS.
"""

from . import postings
from .memory_lua_prelude import PRELUDE

CREATE_MEMORIES = PRELUDE + """
-- Plan: max_count, max_words (0: no quota), dup (true: refuse a memory equal to a stored one or to an
-- earlier one of the plan), items: [{id, rec (the record without n), terms, len, fp, vec}].
-- All or nothing: returns {'full', 'count'|'words'} when over quota, {'duplicate', index (0-based), id
-- it equals} on a duplicate, and stores nothing then; else per memory {status, id, record} with status
-- 'created' or 'exists' (that id is stored already: a retried create).
local plan, new_count, new_words, seen = {}, 0, 0, {}
for i, item in ipairs(P.items) do
  local rec = item.rec
  local field = dedup_field(rec.s, item.fp)
  if redis.call('HEXISTS', ITEMS, item.id) == 1 then
    plan[#plan + 1] = {'exists', item.id}
  else
    if P.dup then
      local dup = seen[field] or string.match(redis.call('HGET', DEDUP, field) or '', '^(%S+)')
      if dup and (seen[field] or redis.call('HEXISTS', ITEMS, dup) == 1) then
        return {'duplicate', i - 1, dup}
      end
    end
    plan[#plan + 1] = {'created', item.id, rec, item}
    new_count, new_words = new_count + 1, new_words + rec.w
    seen[field] = item.id
  end
end
local over = over_quota(new_count, new_words, P.max_count, P.max_words)
if over then return {'full', over} end
local created = {}
for _, step in ipairs(plan) do
  if step[1] == 'created' then
    local rec, item = step[3], step[4]
    rec.n = redis.call('HINCRBY', STATS, 'seq', 1)
    local encoded = cjson.encode(rec)
    redis.call('HSET', ITEMS, step[2], encoded)
    index(step[2], rec, item.terms, item.len, item.fp)
    put_vector(rec.n, item.vec)
    event('memory.created', step[2], rec)
    created[step[2]] = encoded
  end
end
local out = {}
for _, step in ipairs(plan) do
  out[#out + 1] = step[1]
  out[#out + 1] = step[2]
  out[#out + 1] = created[step[2]] or redis.call('HGET', ITEMS, step[2])
end
return out
"""

UPDATE_MEMORY = PRELUDE + """
-- Plan: id, expect {id: raw}, versions (accepted versions ",3.17,4," from If-Match, or ''), updated_at,
-- content (absent: unchanged) {c, w, t, terms, len, fp, v (analyzer version), vec}, metadata (absent: unchanged), tags (absent:
-- unchanged), scope_given + scope ('' = global), history_depth, max_words.
-- Returns {'retry'} if the record moved since it was read, {1, record}, {0} if missing,
-- {-1, current record} on a revision mismatch, {-2, 'words'} over quota.
if not unchanged(P.expect) then return {'retry'} end
local id = P.id
local raw = redis.call('HGET', ITEMS, id)
if not raw then return {0} end
local rec = cjson.decode(raw)
if not accepted(P.versions, rec) then return {-1, raw} end
local content = P.content
if content and over_quota(0, content.w - rec.w, 0, P.max_words) then
  return {-2, 'words'}
end
-- Without new content the postings stay as they are: the memory keeps its document number and terms.
local terms, len, fingerprint = unindex(id, rec, not content)
if content then
  rec.c, rec.w, rec.t, rec.v = content.c, content.w, content.t, content.v
  terms, len, fingerprint = content.terms, content.len, content.fp
  renumber(rec)
end
if P.metadata then rec.m = P.metadata end
if P.tags then
  if #P.tags == 0 then rec.g = nil else rec.g = P.tags end
end
if P.scope_given then
  if P.scope == '' then rec.s = nil else rec.s = P.scope end
end
rec.u = P.updated_at
rec.r = rec.r + 1
stamp(rec)
local encoded = cjson.encode(rec)
redis.call('HSET', ITEMS, id, encoded)
index(id, rec, terms, len, fingerprint, not content)
if content then put_vector(rec.n, content.vec) end
event('memory.updated', id, rec)
if P.history_depth > 0 then
  redis.call('LPUSH', key('h', id), raw)
  redis.call('LTRIM', key('h', id), 0, P.history_depth - 1)
end
return {1, encoded}
"""

DELETE_MEMORIES = PRELUDE + """
-- Plan: expect {id: raw or false}, versions (",3.17," from If-Match, or ''), ids.
-- {'retry'} if a record moved since it was read; else per id: {1, record} deleted, {0, false} missing,
-- {-1, record} revision mismatch (kept).
if not unchanged(P.expect) then return {'retry'} end
local out = {}
for _, id in ipairs(P.ids) do
  local raw = redis.call('HGET', ITEMS, id)
  if not raw then
    out[#out + 1] = 0
    out[#out + 1] = false
  elseif not accepted(P.versions, cjson.decode(raw)) then
    out[#out + 1] = -1
    out[#out + 1] = raw
  else
    remove(id, raw)
    event('memory.deleted', id, cjson.decode(raw))
    out[#out + 1] = 1
    out[#out + 1] = raw
  end
end
drop_vectors_if_empty()
return out
"""

PUT_MEMORIES = PRELUDE + """
-- Import. Plan: expect {id: raw or false}, overwrite (bool), max_count, max_words, items: [{id, rec
-- (the record without n), terms, len, fp, vec, history (record JSON strings, newest first)}].
-- {'retry'} if a record moved since it was read; {'full', what} over quota (nothing written);
-- else per memory 'created'|'overwritten'|'skipped'.
if not unchanged(P.expect) then return {'retry'} end
local new_count, word_delta = 0, 0
for _, item in ipairs(P.items) do
  local raw = redis.call('HGET', ITEMS, item.id)
  local rec = item.rec
  if not raw then
    new_count, word_delta = new_count + 1, word_delta + rec.w
  elseif P.overwrite then
    word_delta = word_delta + rec.w - cjson.decode(raw).w
  end
end
local over = over_quota(new_count, word_delta, P.max_count, P.max_words)
if over then return {'full', over} end
local out = {}
for _, item in ipairs(P.items) do
  local id, raw = item.id, redis.call('HGET', ITEMS, item.id)
  if raw and not P.overwrite then
    out[#out + 1] = 'skipped'
  else
    local rec = item.rec
    if raw then
      unindex(id, cjson.decode(raw))
      out[#out + 1] = 'overwritten'
    else
      out[#out + 1] = 'created'
    end
    renumber(rec)
    redis.call('HSET', ITEMS, id, cjson.encode(rec))
    index(id, rec, item.terms, item.len, item.fp)
    put_vector(rec.n, item.vec)
    event(raw and 'memory.updated' or 'memory.created', id, rec)
    redis.call('DEL', key('h', id))
    for _, old_record in ipairs(item.history) do
      redis.call('RPUSH', key('h', id), old_record)
    end
  end
end
return out
"""

RESET_VECTORS = PRELUDE + """
-- Drop a user's vectors and start a set for P.vmodel (reindex after the embedding model changed).
redis.call('DEL', VECTORS)
redis.call('HDEL', STATS, 'vprofile')
redis.call('HSET', STATS, 'vmodel', P.vmodel)
return 1
"""

REINDEX_MEMORY = PRELUDE + """
-- Re-index a stored memory under the current analyzer rules; the memory itself (content, revision,
-- times) does not change. Plan: id, expect {id: raw}, terms, len, fp, v, vec (absent: keep the vector).
-- Returns {'retry'} if the record moved since it was read, {0} if it is gone, {1} when done.
if not unchanged(P.expect) then return {'retry'} end
local raw = redis.call('HGET', ITEMS, P.id)
if not raw then return {0} end
local rec = cjson.decode(raw)
-- Already under these rules and without a term list (re-indexed for its vector only): its postings are
-- the ones these rules give, and stay; unposting recomputed terms could only miss some, had a word's
-- analysis changed since.
local same = (rec.v or 1) == P.v and redis.call('HEXISTS', TERMS, rec.n) == 0
unindex(P.id, rec, same)
rec.v = P.v
redis.call('HSET', ITEMS, P.id, cjson.encode(rec))
index(P.id, rec, P.terms, P.len, P.fp, same)
put_vector(rec.n, P.vec)
return {1}
"""

SWEEP_POSTINGS = postings.ENTRY_LUA + """
-- Drop a term's postings of documents that are gone: listed in no entry of the user's docs, since their
-- memory left the index without them (its terms, recomputed from the record, came out otherwise than
-- when it was indexed, e.g. after an upgrade changed how a word is stemmed). Search never resolves
-- them; this keeps counts true and `memory-api check` quiet. ARGV[2] hash fields at a time, from HSCAN
-- cursor ARGV[1]; a damaged bucket is left as it is (check names it). KEYS[1]: the term's postings,
-- KEYS[2]: the user's docs. Returns {next cursor ('0': done), postings dropped}.
local k, docs = KEYS[1], KEYS[2]
local page = redis.call('HSCAN', k, ARGV[1], 'COUNT', tonumber(ARGV[2]))
local dropped = 0
for i = 1, #page[2], 2 do
  local field, value = page[2][i], page[2][i + 1]
  local number = string.match(field, '^b(%d+)$')
  if number and #value % 5 == 0 then
    local base, kept = tonumber(number) * 256, {}
    for at = 1, #value, 5 do
      if redis.call('HEXISTS', docs, tostring(base + string.byte(value, at))) == 1 then
        kept[#kept + 1] = string.sub(value, at, at + 4)
      end
    end
    if #kept * 5 < #value then
      dropped = dropped + (#value / 5 - #kept)
      if #kept == 0 then redis.call('HDEL', k, field) else redis.call('HSET', k, field, table.concat(kept)) end
    end
  elseif string.match(field, '^%d+$') and redis.call('HEXISTS', docs, field) == 0 then
    redis.call('HDEL', k, field)  -- a one-field posting from before buckets
    dropped = dropped + 1
  end
end
if dropped > 0 and redis.call('HEXISTS', k, 'df') == 1 then
  settle(k, redis.call('HINCRBY', k, 'df', 0 - dropped))
end
return {page[1], dropped}
"""

COMPACT_POSTINGS = postings.ENTRY_LUA + """
-- Move up to ARGV[1] of a term's one-field postings (written before buckets) into its buckets
-- (store/postings.py), then count what the hash lists and set df to it (a repair, after a writer of
-- the previous version). KEYS[1]: the term's postings. Returns {moved (0: none are left), 1 if df
-- was wrong, else 0}.
local k, most = KEYS[1], tonumber(ARGV[1])
local counted = redis.call('HGET', k, 'df')  -- absent: a hash from before buckets, nothing to repair
local moved, cursor = {}, '0'
repeat
  local page = redis.call('HSCAN', k, cursor, 'MATCH', '[0-9]*', 'COUNT', 1000)
  cursor = page[1]
  for i = 1, #page[2], 2 do
    if #moved < most then moved[#moved + 1] = {page[2][i], tonumber(page[2][i]), tonumber(page[2][i + 1])} end
  end
until cursor == '0' or #moved >= most
table.sort(moved, function(a, b) return a[2] < b[2] end)
local i = 1
while i <= #moved do
  local number = math.floor(moved[i][2] / 256)
  local field = 'b' .. number
  local bucket = redis.call('HGET', k, field) or ''
  local entries = {}
  for at = 1, #bucket - 4, 5 do entries[string.byte(bucket, at)] = string.sub(bucket, at, at + 4) end
  while i <= #moved and math.floor(moved[i][2] / 256) == number do
    local offset = moved[i][2] % 256
    -- A document in both forms keeps its bucket entry (the newer write).
    entries[offset] = entries[offset] or posting_entry(offset, moved[i][3])
    redis.call('HDEL', k, moved[i][1])
    i = i + 1
  end
  local parts = {}
  for offset = 0, 255 do
    if entries[offset] then parts[#parts + 1] = entries[offset] end
  end
  redis.call('HSET', k, field, table.concat(parts))
end
local n = recount(k)
if n == 0 then
  redis.call('DEL', k)
  return {#moved, 0}
end
local wrong = counted ~= false and tonumber(counted) ~= n
if tonumber(redis.call('HGET', k, 'df')) ~= n then redis.call('HSET', k, 'df', n) end
return {#moved, wrong and 1 or 0}
"""
