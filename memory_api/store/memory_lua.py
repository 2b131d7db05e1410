"""Lua scripts that write memories: each keeps the record and every index in step, atomically.

Each is the shared PRELUDE (memory_lua_prelude.py: the KEYS, the record layout and the index helpers)
followed by its own plan. Every key a script touches arrives in KEYS.
"""

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
  local field = duplicate_field(rec.s, item.fp)
  if redis.call('HEXISTS', ITEMS, item.id) == 1 then
    plan[#plan + 1] = {'exists', item.id}
  else
    if P.dup then
      local dup = seen[field] or duplicate_of(rec.s, item.fp)
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
-- content (absent: unchanged) {c, w, t, terms, len, fp, vec}, metadata (absent: unchanged), tags (absent:
-- unchanged), scope_given + scope ('' = global), times {ta, tv, te: value} and clear [names] (absent:
-- unchanged), history_depth, max_words.
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
  rec.c, rec.w, rec.t = content.c, content.w, content.t
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
for name, value in pairs(P.times or {}) do rec[name] = value end
for _, name in ipairs(P.clear or {}) do rec[name] = nil end
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
-- Plan: expect {id: raw or false}, versions (",3.17," from If-Match, or ''), ids, now, retention,
-- history_depth (remove), expired_by (absent: any memory; else only one whose expires_at is at or
-- before it: the expiry sweeper's delete).
-- {'retry'} if a record moved since it was read; else per id: {1, record} deleted, {0, false} missing,
-- {-1, record} revision mismatch or not expired (kept).
if not unchanged(P.expect) then return {'retry'} end
local out = {}
for _, id in ipairs(P.ids) do
  local raw = redis.call('HGET', ITEMS, id)
  local rec = raw and cjson.decode(raw)
  if not raw then
    out[#out + 1] = 0
    out[#out + 1] = false
  elseif not accepted(P.versions, rec) or (P.expired_by and not (rec.te and rec.te <= P.expired_by)) then
    out[#out + 1] = -1
    out[#out + 1] = raw
  else
    remove(id, raw)
    event('memory.deleted', id, rec)
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
-- Re-index a stored memory: its postings, document entry and duplicate-map entry are written again from
-- its content (a repair of whatever `check` found), and its vector added if given; the memory itself
-- (content, revision, times) does not change. Plan: id, expect {id: raw}, terms, len, fp, vec (absent:
-- keep the vector). Returns {'retry'} if the record moved since it was read, {0} if it is gone, {1}.
if not unchanged(P.expect) then return {'retry'} end
local raw = redis.call('HGET', ITEMS, P.id)
if not raw then return {0} end
local rec = cjson.decode(raw)
unindex(P.id, rec)
if rec.v then
  -- The analyzer version records of store format ma1 carried: a format now has one analyzer.
  rec.v = nil
  redis.call('HSET', ITEMS, P.id, cjson.encode(rec))
end
index(P.id, rec, P.terms, P.len, P.fp)
put_vector(rec.n, P.vec)
return {1}
"""

DROP_STRAY_TIMES = """
-- Take memories out of the time indexes that list them without having that time (a repair of what
-- `check` names; every write keeps them right). KEYS[1] items, KEYS[2] occurred, KEYS[3] valid_until,
-- KEYS[4] expires; ARGV: memory ids. Each is checked against its record as it is now, so a write that
-- gave it the time meanwhile keeps its entry. Returns how many entries were removed.
local removed = 0
for _, id in ipairs(ARGV) do
  local raw = redis.call('HGET', KEYS[1], id)
  local rec = raw and cjson.decode(raw) or {}
  for k, name in ipairs({'ta', 'tv', 'te'}) do
    if rec[name] == nil then removed = removed + redis.call('ZREM', KEYS[k + 1], id) end
  end
end
return removed
"""

RESTORE_MEMORY = PRELUDE + """
-- Undo a delete: the deleted version, kept on top of its history (remove), becomes the memory again, as a
-- new revision. Plan: id, head (the history's first entry as read), now, terms, len, fp, vec, max_count,
-- max_words. Returns {'retry'} if the history's head moved since it was read, {'exists', record} if the
-- memory is stored, {'gone'} if no delete of it is kept, {'full', what} over quota, else {1, record}.
if redis.call('HGET', ITEMS, P.id) then return {'exists', redis.call('HGET', ITEMS, P.id)} end
if not redis.call('ZSCORE', DELETED, P.id) then return {'gone'} end
if redis.call('LINDEX', key('h', P.id), 0) ~= P.head then return {'retry'} end
local rec = cjson.decode(P.head)
local over = over_quota(1, rec.w, P.max_count, P.max_words)
if over then return {'full', over} end
redis.call('LPOP', key('h', P.id))
redis.call('PERSIST', key('h', P.id))
rec.r = rec.r + 1
rec.u = P.now
if rec.te and rec.te <= P.now then rec.te = nil end  -- swept at its expiry: restored without one
renumber(rec)
stamp(rec)
local encoded = cjson.encode(rec)
redis.call('HSET', ITEMS, P.id, encoded)
index(P.id, rec, P.terms, P.len, P.fp)
put_vector(rec.n, P.vec)
event('memory.created', P.id, rec)
return {1, encoded}
"""
