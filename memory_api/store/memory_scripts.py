"""Lua scripts for memories: each write keeps the record and every index in step, atomically.

Every script here gets the same KEYS (store/keys.py memory_keys):
  1 items    HASH id -> record        6 tags     HASH tag -> count
  2 ids      ZSET ids (lexicographic) 7 scopes   HASH scope -> count
  3 stats    HASH words/tokens/terms/seq   8 dedup HASH "<scope>|<fingerprint>" -> id
  4 docs     HASH docno -> "id len fingerprint"    9 updated ZSET id -> updated_at
  5 terms    HASH docno -> "term tf ..."          10 sc0     ZSET ids of global memories
plus per term a HASH of postings: docno -> tf * 65536 + document length (a hash entry costs
less than a sorted-set entry, and search never needs them in order).
and ARGV[1] = the user's key prefix: a stored memory's tags, scope and terms are
known only inside Redis, so per-tag, per-scope, per-term and history key names
are the prefix plus tag:/sc:/t:/hist: (keys.py spells the same names). All of a
user's keys share one hash tag, so every script runs on one Redis Cluster slot.

A record is {"c": content, "m": metadata, "u": updated_at, "w": words, "t": tokens,
"r": revision, "n": document number, "g": tags (absent if none), "s": scope
(absent if global)}. Terms are "term tf term tf ...", computed by memory_api/text.py.
"""

PRELUDE = """
local PREFIX = ARGV[1]
local ITEMS, IDS, STATS, DOCS, TERMS = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local TAGS, SCOPES, DEDUP, UPDATED, GLOBAL = KEYS[6], KEYS[7], KEYS[8], KEYS[9], KEYS[10]

local function scope_set(scope)
  if scope == nil or scope == '' then return GLOBAL end
  return PREFIX .. 'sc:' .. scope
end

local function dedup_field(scope, fingerprint)
  return (scope or '') .. '|' .. fingerprint
end

-- Put a stored memory into every index.
local function index(id, rec, terms, len, fingerprint)
  redis.call('ZADD', IDS, 0, id)
  redis.call('ZADD', UPDATED, rec.u, id)
  redis.call('ZADD', scope_set(rec.s), 0, id)
  if rec.s then redis.call('HINCRBY', SCOPES, rec.s, 1) end
  if rec.g then
    for _, tag in ipairs(rec.g) do
      redis.call('ZADD', PREFIX .. 'tag:' .. tag, 0, id)
      redis.call('HINCRBY', TAGS, tag, 1)
    end
  end
  redis.call('HSET', DOCS, rec.n, id .. ' ' .. len .. ' ' .. fingerprint)
  redis.call('HSET', TERMS, rec.n, terms)
  -- A posting maps the document number to tf * 65536 + document length (BM25 needs both),
  -- so a search reads everything it scores with from the postings alone.
  for term, tf in string.gmatch(terms, '(%S+) (%d+)') do
    redis.call('HSET', PREFIX .. 't:' .. term, rec.n, tonumber(tf) * 65536 + len)
  end
  redis.call('HINCRBY', STATS, 'words', rec.w)
  redis.call('HINCRBY', STATS, 'tokens', rec.t)
  redis.call('HINCRBY', STATS, 'terms', len)
  redis.call('HSETNX', DEDUP, dedup_field(rec.s, fingerprint), id)
end

-- Take a stored memory out of every index; returns its terms, length and fingerprint.
local function unindex(id, rec)
  local doc = redis.call('HGET', DOCS, rec.n) or ''
  local len, fingerprint = string.match(doc, '^%S+ (%d+) (%S+)$')
  len = tonumber(len) or 0
  local terms = redis.call('HGET', TERMS, rec.n) or ''
  redis.call('ZREM', IDS, id)
  redis.call('ZREM', UPDATED, id)
  redis.call('ZREM', scope_set(rec.s), id)
  if rec.s and redis.call('HINCRBY', SCOPES, rec.s, -1) <= 0 then redis.call('HDEL', SCOPES, rec.s) end
  if rec.g then
    for _, tag in ipairs(rec.g) do
      redis.call('ZREM', PREFIX .. 'tag:' .. tag, id)
      if redis.call('HINCRBY', TAGS, tag, -1) <= 0 then redis.call('HDEL', TAGS, tag) end
    end
  end
  for term in string.gmatch(terms, '(%S+) %d+') do
    redis.call('HDEL', PREFIX .. 't:' .. term, rec.n)
  end
  redis.call('HDEL', DOCS, rec.n)
  redis.call('HDEL', TERMS, rec.n)
  -- 0 - x, not -x: Lua writes -0 as "-0", which HINCRBY refuses
  redis.call('HINCRBY', STATS, 'words', 0 - rec.w)
  redis.call('HINCRBY', STATS, 'tokens', 0 - rec.t)
  redis.call('HINCRBY', STATS, 'terms', 0 - len)
  if fingerprint then
    local field = dedup_field(rec.s, fingerprint)
    if redis.call('HGET', DEDUP, field) == id then redis.call('HDEL', DEDUP, field) end
  end
  return terms, len, fingerprint or ''
end

-- Would adding `count` memories and `words` words break a quota (0 = none)? Returns 'count', 'words' or nil.
local function over_quota(count, words, max_count, max_words)
  if max_count > 0 and count > 0 and redis.call('ZCARD', IDS) + count > max_count then return 'count' end
  if max_words > 0 and words > 0 and (tonumber(redis.call('HGET', STATS, 'words')) or 0) + words > max_words then
    return 'words'
  end
  return nil
end

local function accepted(revisions, rec)
  return revisions == '' or string.find(revisions, ',' .. tostring(rec.r) .. ',', 1, true) ~= nil
end
"""

CREATE_MEMORIES = PRELUDE + """
-- ARGV[2] max memories (0: no quota), ARGV[3] max words (0: no quota), ARGV[4] '1' to return
-- an existing duplicate instead of storing, then per memory 5 values from ARGV[5]:
-- id, record JSON (without n), terms, length in terms, content fingerprint.
-- All or nothing: returns {'full', 'count'|'words'} and stores nothing when over quota, else
-- per memory {status, id, record} with status 'created', 'exists' (that id is stored already:
-- a retried create) or 'duplicate' (id: the stored memory with the same content and scope).
local max_count, max_words, check_dup = tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4] == '1'
local plan, new_count, new_words, seen = {}, 0, 0, {}
for i = 5, #ARGV, 5 do
  local id, rec = ARGV[i], cjson.decode(ARGV[i + 1])
  local field = dedup_field(rec.s, ARGV[i + 4])
  local dup = check_dup and (seen[field] or redis.call('HGET', DEDUP, field))
  if redis.call('HEXISTS', ITEMS, id) == 1 then
    plan[#plan + 1] = {'exists', id}
  elseif dup and (seen[field] or redis.call('HEXISTS', ITEMS, dup) == 1) then
    plan[#plan + 1] = {'duplicate', dup}
  else
    plan[#plan + 1] = {'created', id, rec, ARGV[i + 2], tonumber(ARGV[i + 3]), ARGV[i + 4]}
    new_count, new_words = new_count + 1, new_words + rec.w
    seen[field] = id
  end
end
local over = over_quota(new_count, new_words, max_count, max_words)
if over then return {'full', over} end
local created = {}
for _, step in ipairs(plan) do
  if step[1] == 'created' then
    local rec = step[3]
    rec.n = redis.call('HINCRBY', STATS, 'seq', 1)
    local encoded = cjson.encode(rec)
    redis.call('HSET', ITEMS, step[2], encoded)
    index(step[2], rec, step[4], step[5], step[6])
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
-- ARGV[2] id, ARGV[3] accepted revisions ",3,4," (If-Match) or '', ARGV[4] updated_at,
-- ARGV[5] '1' if content changes: ARGV[6] content, [7] words, [8] tokens, [9] terms, [10] length, [11] fingerprint
-- ARGV[12] '1' if metadata changes: ARGV[13] metadata JSON; ARGV[14] '1' if tags change: ARGV[15] tags JSON
-- ARGV[16] '1' if the scope changes: ARGV[17] scope ('' = global); ARGV[18] history depth; ARGV[19] max words
-- Returns {1, record}, {0} if missing, {-1, current record} on a revision mismatch, {-2, 'words'} over quota.
local id = ARGV[2]
local raw = redis.call('HGET', ITEMS, id)
if not raw then return {0} end
local rec = cjson.decode(raw)
if not accepted(ARGV[3], rec) then return {-1, raw} end
if ARGV[5] == '1' and over_quota(0, tonumber(ARGV[7]) - rec.w, 0, tonumber(ARGV[19])) then
  return {-2, 'words'}
end
local terms, len, fingerprint = unindex(id, rec)
if ARGV[5] == '1' then
  rec.c, rec.w, rec.t = ARGV[6], tonumber(ARGV[7]), tonumber(ARGV[8])
  terms, len, fingerprint = ARGV[9], tonumber(ARGV[10]), ARGV[11]
end
if ARGV[12] == '1' then rec.m = cjson.decode(ARGV[13]) end
if ARGV[14] == '1' then
  local tags = cjson.decode(ARGV[15])
  if #tags == 0 then rec.g = nil else rec.g = tags end
end
if ARGV[16] == '1' then
  if ARGV[17] == '' then rec.s = nil else rec.s = ARGV[17] end
end
rec.u = tonumber(ARGV[4])
rec.r = rec.r + 1
local encoded = cjson.encode(rec)
redis.call('HSET', ITEMS, id, encoded)
index(id, rec, terms, len, fingerprint)
local depth = tonumber(ARGV[18])
if depth > 0 then
  redis.call('LPUSH', PREFIX .. 'hist:' .. id, raw)
  redis.call('LTRIM', PREFIX .. 'hist:' .. id, 0, depth - 1)
end
return {1, encoded}
"""

DELETE_MEMORIES = PRELUDE + """
-- ARGV[2] accepted revisions ",3," (If-Match) or '', ARGV[3..] ids.
-- Per id: {1, record} deleted, {0, false} missing, {-1, record} revision mismatch (kept).
local out = {}
for i = 3, #ARGV do
  local id = ARGV[i]
  local raw = redis.call('HGET', ITEMS, id)
  if not raw then
    out[#out + 1] = 0
    out[#out + 1] = false
  elseif not accepted(ARGV[2], cjson.decode(raw)) then
    out[#out + 1] = -1
    out[#out + 1] = raw
  else
    unindex(id, cjson.decode(raw))
    redis.call('HDEL', ITEMS, id)
    redis.call('DEL', PREFIX .. 'hist:' .. id)
    out[#out + 1] = 1
    out[#out + 1] = raw
  end
end
return out
"""

DELETE_OLDEST_MEMORIES = PRELUDE + """
-- ARGV[2] how many. Deletes up to that many of the oldest memories (one chunk of "delete all").
-- Returns {deleted, remaining}.
local ids = redis.call('ZRANGE', IDS, 0, tonumber(ARGV[2]) - 1)
for _, id in ipairs(ids) do
  local raw = redis.call('HGET', ITEMS, id)
  if raw then
    unindex(id, cjson.decode(raw))
    redis.call('HDEL', ITEMS, id)
  else
    redis.call('ZREM', IDS, id)
  end
  redis.call('DEL', PREFIX .. 'hist:' .. id)
end
return {#ids, redis.call('ZCARD', IDS)}
"""

PUT_MEMORIES = PRELUDE + """
-- Import. ARGV[2] 'skip' or 'overwrite' for ids that exist, ARGV[3] max memories, ARGV[4] max words,
-- then per memory 6 values from ARGV[5]: id, record JSON (without n), terms, length, fingerprint,
-- history (JSON array of record JSON strings, newest first).
-- All or nothing per call: {'full', what} over quota, else per memory 'created'|'overwritten'|'skipped'.
local overwrite = ARGV[2] == 'overwrite'
local new_count, word_delta = 0, 0
for i = 5, #ARGV, 6 do
  local raw = redis.call('HGET', ITEMS, ARGV[i])
  local rec = cjson.decode(ARGV[i + 1])
  if not raw then
    new_count, word_delta = new_count + 1, word_delta + rec.w
  elseif overwrite then
    word_delta = word_delta + rec.w - cjson.decode(raw).w
  end
end
local over = over_quota(new_count, word_delta, tonumber(ARGV[3]), tonumber(ARGV[4]))
if over then return {'full', over} end
local out = {}
for i = 5, #ARGV, 6 do
  local id, raw = ARGV[i], redis.call('HGET', ITEMS, ARGV[i])
  if raw and not overwrite then
    out[#out + 1] = 'skipped'
  else
    local rec = cjson.decode(ARGV[i + 1])
    if raw then
      local old = cjson.decode(raw)
      unindex(id, old)
      rec.n = old.n
      out[#out + 1] = 'overwritten'
    else
      rec.n = redis.call('HINCRBY', STATS, 'seq', 1)
      out[#out + 1] = 'created'
    end
    redis.call('HSET', ITEMS, id, cjson.encode(rec))
    index(id, rec, ARGV[i + 2], tonumber(ARGV[i + 3]), ARGV[i + 4])
    local history_key = PREFIX .. 'hist:' .. id
    redis.call('DEL', history_key)
    for _, old_record in ipairs(cjson.decode(ARGV[i + 5])) do
      redis.call('RPUSH', history_key, old_record)
    end
  end
end
return out
"""
