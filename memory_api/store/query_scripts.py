"""Lua scripts that read memories: one filtered page, and the hits of a search.

Both walk indexes that memory_scripts.py keeps; they write nothing. Search
scoring itself happens in Python (store/memories.py), so a search over large
postings never holds Redis' single thread for long.
"""

LIST_MEMORIES = """
-- KEYS[1] items, KEYS[2] updated, KEYS[3..] sets every listed id belongs to (the id index,
-- or a scope's and tags' sets; all lexicographic ZSETs of ids).
-- ARGV[1] lower bound, ARGV[2] upper bound (ZRANGE BYLEX syntax), ARGV[3] '1' newest first,
-- ARGV[4] how many, ARGV[5] updated_at >= (or ''), ARGV[6] updated_at <= (or '').
-- Walks the smallest of the sets from the cursor and keeps the ids in all the others that pass
-- the updated-time range. Returns {ids, records}.
local lower, upper, newest, want = ARGV[1], ARGV[2], ARGV[3] == '1', tonumber(ARGV[4])
local since, till = tonumber(ARGV[5]), tonumber(ARGV[6])
local walked, smallest = 3, nil
for k = 3, #KEYS do
  local size = redis.call('ZCARD', KEYS[k])
  if smallest == nil or size < smallest then walked, smallest = k, size end
end
local filtered = #KEYS > 3 or since or till
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

RESOLVE_SEARCH_HITS = """
-- The second step of a search: turn ranked document numbers into memories, applying the filters.
-- KEYS[1] items, KEYS[2] docs, KEYS[3] updated
-- ARGV[1] key prefix, ARGV[2] how many hits are wanted,
-- ARGV[3] allowed scopes as JSON array ('' = global) or '' for any, ARGV[4] required tags as JSON array,
-- ARGV[5] lowest id / ARGV[6] highest id ('' = none: created range),
-- ARGV[7] updated_at >= / ARGV[8] updated_at <= ('' = none), ARGV[9..] document numbers, best first.
-- Returns {docno, id, record, ...} for the documents that exist and pass, in the given order.
local prefix, want = ARGV[1], tonumber(ARGV[2])
local scopes = ARGV[3] ~= '' and cjson.decode(ARGV[3]) or nil
local tags = cjson.decode(ARGV[4])
local low, high = ARGV[5], ARGV[6]
local since, till = tonumber(ARGV[7]), tonumber(ARGV[8])
local out, found = {}, 0
for i = 9, #ARGV do
  local doc = redis.call('HGET', KEYS[2], ARGV[i])
  local id = doc and string.match(doc, '^(%S+)')
  local keep = id ~= nil and (low == '' or id >= low) and (high == '' or id <= high)
  if keep then
    for _, tag in ipairs(tags) do
      if not redis.call('ZSCORE', prefix .. 'tag:' .. tag, id) then keep = false break end
    end
  end
  if keep and scopes then
    keep = false
    for _, scope in ipairs(scopes) do
      local set = scope == '' and (prefix .. 'sc0') or (prefix .. 'sc:' .. scope)
      if redis.call('ZSCORE', set, id) then keep = true break end
    end
  end
  if keep and (since or till) then
    local updated = tonumber(redis.call('ZSCORE', KEYS[3], id))
    keep = updated ~= nil and (not since or updated >= since) and (not till or updated <= till)
  end
  if keep then
    local record = redis.call('HGET', KEYS[1], id)
    if record then
      out[#out + 1] = ARGV[i]
      out[#out + 1] = id
      out[#out + 1] = record
      found = found + 1
      if found == want then break end
    end
  end
end
return out
"""
