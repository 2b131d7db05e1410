"""Lua scripts that read memories: one filtered page, and the hits of a search.

They walk indexes that memory_lua.py keeps and write nothing. Every key they
read arrives in KEYS. Search scoring itself happens in Python (index/query.py), so a
search over large postings never holds Redis' single thread for long.
"""

from ..index.lua import DOCUMENT_ID_LUA

LIST_MEMORIES = """
-- KEYS[1] items, KEYS[2] updated, KEYS[3..] sets every listed id belongs to (the id index,
-- or a scope's and tags' sets; all lexicographic ZSETs of ids).
-- ARGV[1] JSON: lower, upper (ZRANGE BYLEX bounds), newest (bool), count, since / till (updated_at
-- range, absent: none), source (absent: any). Walks the smallest of the sets from the cursor and keeps
-- the ids in all the others that pass the updated-time range and come from the source.
-- Returns {ids, records}.
local P = cjson.decode(ARGV[1])
local lower, upper, newest, want = P.lower, P.upper, P.newest, P.count
local since, till, source = P.since, P.till, P.source
local walked, smallest = 3, nil
for k = 3, #KEYS do
  local size = redis.call('ZCARD', KEYS[k])
  if smallest == nil or size < smallest then walked, smallest = k, size end
end
local filtered = #KEYS > 3 or since or till or source
local batch = filtered and math.max(want * 4, 200) or want
local ids = {}
while #ids < want do
  local chunk
  if newest then
    chunk = redis.call('ZRANGE', KEYS[walked], upper, lower, 'BYLEX', 'REV', 'LIMIT', 0, batch)
  else
    chunk = redis.call('ZRANGE', KEYS[walked], lower, upper, 'BYLEX', 'LIMIT', 0, batch)
  end
  for _, id in ipairs(chunk) do
    local keep = true
    for k = 3, #KEYS do
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
-- KEYS[1] items, KEYS[2] docs, KEYS[3] updated, then the required tags' sets, then the allowed scopes'
-- sets. ARGV[1] JSON: want (how many hits), tags (how many tag sets follow KEYS[3]), scopes (how many
-- scope sets follow them; 0: any scope), low / high (id range, absent: none), since / till (updated_at
-- range), source (absent: any), docs (document numbers, best first).
-- Returns {docno, id, record, ...} for the documents that exist and pass, in the given order.
-- The documents are read a batch at a time, each step one command for the whole batch (HMGET,
-- ZMSCORE): a chat resolves a couple of hundred, and three commands per document took most of
-- this script's time. A batch is as large as the hits still wanted (at most 500, well within what
-- unpack can pass), so when all pass, one is all.
local P = cjson.decode(ARGV[1])
local first_scope, last_scope = 4 + P.tags, 3 + P.tags + P.scopes
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
    for k = 4, 3 + P.tags do
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
