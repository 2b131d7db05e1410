"""Lua scripts that read memories: one filtered page, and the hits of a search.

They walk indexes that memory_lua.py keeps and write nothing. Every key they
read arrives in KEYS. Search scoring itself happens in Python (index/query.py), so a
search over large postings never holds Redis' single thread for long.
"""

from ..index.lua import DOCUMENT_ID_LUA

# The time filters both reads share. The plan's `now` hides memories past their expiry (exact to the
# second, whenever the sweeper deletes them; absent: an administrative read, which sees them);
# `valid_at` hides those whose valid_until is not after it;
# `occ_min` / `occ_max` keep those whose occurred_at lies in a range; `occ_upto` those that had happened
# by then (or have no occurred_at). Each is one ZMSCORE for a whole batch of ids, and none is run that
# the plan does not ask for or the user has no such time for.
TIME_FILTER_LUA = """
local function time_kept(ids, occurred, valid_until, expires)
  local keep = {}
  for i = 1, #ids do keep[i] = true end
  if #ids == 0 then return keep end
  if P.now and redis.call('EXISTS', expires) == 1 then
    local at = redis.call('ZMSCORE', expires, unpack(ids))
    for i = 1, #ids do if at[i] and tonumber(at[i]) <= P.now then keep[i] = false end end
  end
  if P.occ_min or P.occ_max or P.occ_upto then
    local at = redis.call('ZMSCORE', occurred, unpack(ids))
    for i = 1, #ids do
      local t = at[i] and tonumber(at[i])
      if (P.occ_min or P.occ_max) and not t then keep[i] = false end
      if t and ((P.occ_min and t < P.occ_min) or (P.occ_max and t > P.occ_max) or (P.occ_upto and t > P.occ_upto)) then
        keep[i] = false
      end
    end
  end
  if P.valid_at and redis.call('EXISTS', valid_until) == 1 then
    local at = redis.call('ZMSCORE', valid_until, unpack(ids))
    for i = 1, #ids do if at[i] and tonumber(at[i]) <= P.valid_at then keep[i] = false end end
  end
  return keep
end
"""

LIST_MEMORIES = """
-- KEYS[1] items, KEYS[2] updated, KEYS[3] occurred, KEYS[4] valid_until, KEYS[5] expires, KEYS[6..] sets
-- every listed id belongs to (the id index, or a scope's and tags' sets; all lexicographic ZSETs of ids).
-- ARGV[1] JSON: lower, upper (ZRANGE BYLEX bounds), newest (bool), count, since / till (updated_at
-- range, absent: none), source (absent: any), and the time filters (TIME_FILTER_LUA). Walks the smallest
-- of the sets from the cursor and keeps the ids in all the others that pass the filters.
-- Returns {ids, records}.
local P = cjson.decode(ARGV[1])
""" + TIME_FILTER_LUA + """
local lower, upper, newest, want = P.lower, P.upper, P.newest, P.count
local since, till, source = P.since, P.till, P.source
local walked, smallest = 6, nil
for k = 6, #KEYS do
  local size = redis.call('ZCARD', KEYS[k])
  if smallest == nil or size < smallest then walked, smallest = k, size end
end
local filtered = #KEYS > 6 or since or till or source or P.occ_min or P.occ_max or P.occ_upto or P.valid_at
local batch = filtered and math.max(want * 4, 200) or want
local ids = {}
while #ids < want do
  local chunk
  if newest then
    chunk = redis.call('ZRANGE', KEYS[walked], upper, lower, 'BYLEX', 'REV', 'LIMIT', 0, batch)
  else
    chunk = redis.call('ZRANGE', KEYS[walked], lower, upper, 'BYLEX', 'LIMIT', 0, batch)
  end
  local in_time = time_kept(chunk, KEYS[3], KEYS[4], KEYS[5])
  for position, id in ipairs(chunk) do
    local keep = in_time[position]
    for k = 6, #KEYS do
      if not keep then break end
      if k ~= walked and not redis.call('ZSCORE', KEYS[k], id) then keep = false break end
    end
    if keep and (since or till) then
      local updated = tonumber(redis.call('ZSCORE', KEYS[2], id))
      keep = updated ~= nil and (not since or updated >= since) and (not till or updated <= till)
    end
    if keep and source then
      local raw = redis.call('HGET', KEYS[1], id)
      keep = raw and (cjson.decode(raw).o or 'api') == source
    end
    if keep then
      ids[#ids + 1] = id
      if #ids == want then break end
    end
  end
  if #chunk < batch then break end
  if newest then upper = '(' .. chunk[#chunk] else lower = '(' .. chunk[#chunk] end
end
if #ids == 0 then return {ids, {}} end
return {ids, redis.call('HMGET', KEYS[1], unpack(ids))}
"""

RESOLVE_SEARCH_HITS = DOCUMENT_ID_LUA + """
-- The second step of a search: turn ranked document numbers into memories, applying the filters.
-- KEYS[1] items, KEYS[2] docs, KEYS[3] updated, KEYS[4] occurred, KEYS[5] valid_until, KEYS[6] expires,
-- then the required tags' sets, then the allowed scopes' sets. ARGV[1] JSON: want (how many hits), tags
-- (how many tag sets follow KEYS[6]), scopes (how many scope sets follow them; 0: any scope), low / high
-- (id range, absent: none), since / till (updated_at range), source (absent: any), the time filters
-- (TIME_FILTER_LUA), docs (document numbers, best first).
-- Returns {docno, id, record, ...} for the documents that exist and pass, in the given order.
-- The documents are read a batch at a time, each step one command for the whole batch (HMGET,
-- ZMSCORE): a chat resolves a couple of hundred, and three commands per document took most of
-- this script's time. A batch is as large as the hits still wanted (at most 500, well within what
-- unpack can pass), so when all pass, one is all.
local P = cjson.decode(ARGV[1])
""" + TIME_FILTER_LUA + """
local first_scope, last_scope = 7 + P.tags, 6 + P.tags + P.scopes
local since, till, low, high, source = P.since, P.till, P.low, P.high, P.source
local docs, want = P.docs, P.want
local out, found, next_doc = {}, 0, 1
while found < want and next_doc <= #docs do
  local last = math.min(#docs, next_doc + math.min(want - found, 500) - 1)
  local batch = {}
  for i = next_doc, last do batch[#batch + 1] = docs[i] end
  next_doc = last + 1
  local entries = redis.call('HMGET', KEYS[2], unpack(batch))
  local ids, docnos, keep = {}, {}, {}
  for i = 1, #batch do
    local id = document_id(entries[i])
    if id and (not low or id >= low) and (not high or id <= high) then
      ids[#ids + 1], docnos[#docnos + 1], keep[#keep + 1] = id, batch[i], true
    end
  end
  if #ids > 0 then
    local in_time = time_kept(ids, KEYS[4], KEYS[5], KEYS[6])
    for i = 1, #ids do keep[i] = in_time[i] end
    for k = 7, 6 + P.tags do
      local scores = redis.call('ZMSCORE', KEYS[k], unpack(ids))
      for i = 1, #ids do if not scores[i] then keep[i] = false end end
    end
    if P.scopes > 0 then
      local in_one = {}
      for k = first_scope, last_scope do
        local scores = redis.call('ZMSCORE', KEYS[k], unpack(ids))
        for i = 1, #ids do if scores[i] then in_one[i] = true end end
      end
      for i = 1, #ids do if not in_one[i] then keep[i] = false end end
    end
    if since or till then
      local scores = redis.call('ZMSCORE', KEYS[3], unpack(ids))
      for i = 1, #ids do
        local updated = scores[i] and tonumber(scores[i])
        if not (updated and (not since or updated >= since) and (not till or updated <= till)) then
          keep[i] = false
        end
      end
    end
    local kept = {}
    for i = 1, #ids do if keep[i] then kept[#kept + 1] = i end end
    if #kept > 0 then
      local wanted_ids = {}
      for j = 1, #kept do wanted_ids[j] = ids[kept[j]] end
      local records = redis.call('HMGET', KEYS[1], unpack(wanted_ids))
      for j = 1, #kept do
        if records[j] and source and (cjson.decode(records[j]).o or 'api') ~= source then records[j] = false end
        if records[j] then
          out[#out + 1] = docnos[kept[j]]
          out[#out + 1] = wanted_ids[j]
          out[#out + 1] = records[j]
          found = found + 1
          if found == want then break end
        end
      end
    end
  end
end
return out
"""

MISSING_VECTORS = """
-- Which of these memories have no vector? KEYS[1] items, KEYS[2] the user's vector set; ARGV: memory ids.
-- Returns the ids (of existing memories) whose document has no vector.
local out = {}
local has_set = redis.call('EXISTS', KEYS[2]) == 1
for i = 1, #ARGV do
  local raw = redis.call('HGET', KEYS[1], ARGV[i])
  if raw and not (has_set and redis.call('VISMEMBER', KEYS[2], tostring(cjson.decode(raw).n)) == 1) then
    out[#out + 1] = ARGV[i]
  end
end
return out
"""

SAVE_QUERY_PROFILE = """
-- Store a query profile (services/query_profile.py) fitted on vectors of ARGV[1]: only while the
-- user's vector set (KEYS[2]) exists and is still of that model (KEYS[1] stats, field vmodel), so a
-- profile never outlives the vectors it describes (a reindex or the last memory's delete drops both).
if redis.call('EXISTS', KEYS[2]) == 1 and redis.call('HGET', KEYS[1], 'vmodel') == ARGV[1] then
  redis.call('HSET', KEYS[1], 'vprofile', ARGV[2])
  return 1
end
return 0
"""
