"""Lua scripts: every mutation that touches several keys is one of these.

Each script documents its KEYS and ARGV. They are registered once per client
(`redis.register_script`) and called by SHA (EVALSHA, falling back to EVAL once
after a Redis restart). All KEYS of one call carry the same user hash tag.

A memory record is compact JSON: {"c": content, "m": metadata, "u": updated_at,
"w": word count, "t": token count, "r": revision}. The creation time is not
stored: it is the time encoded in the memory's id.
"""

CREATE_MEMORY = """
-- KEYS[1] items hash, KEYS[2] ids zset
-- ARGV[1] memory id, ARGV[2] record JSON
-- Returns 1, or 0 when the id exists already (a retried create is a no-op).
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 0 then
  return 0
end
redis.call('ZADD', KEYS[2], 0, ARGV[1])
return 1
"""

UPDATE_MEMORY = """
-- KEYS[1] items hash
-- ARGV[1] memory id
-- ARGV[2] expected revision, or '' for "whatever it is now"
-- ARGV[3] updated_at (unix seconds)
-- ARGV[4] '1' when content changes, then ARGV[5] content, ARGV[6] words, ARGV[7] tokens
-- ARGV[8] '1' when metadata changes, then ARGV[9] metadata JSON
-- Returns {1, new record}, {0} when missing, {-1, current record} on a revision mismatch.
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if not raw then
  return {0}
end
local rec = cjson.decode(raw)
if ARGV[2] ~= '' and tostring(rec.r) ~= ARGV[2] then
  return {-1, raw}
end
if ARGV[4] == '1' then
  rec.c = ARGV[5]
  rec.w = tonumber(ARGV[6])
  rec.t = tonumber(ARGV[7])
end
if ARGV[8] == '1' then
  rec.m = cjson.decode(ARGV[9])
end
rec.u = tonumber(ARGV[3])
rec.r = rec.r + 1
local new = cjson.encode(rec)
redis.call('HSET', KEYS[1], ARGV[1], new)
return {1, new}
"""

DELETE_MEMORY = """
-- KEYS[1] items hash, KEYS[2] ids zset
-- ARGV[1] memory id, ARGV[2] expected revision or ''
-- Returns {1, deleted record}, {0} when missing, {-1, current record} on a revision mismatch.
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if not raw then
  return {0}
end
if ARGV[2] ~= '' and tostring(cjson.decode(raw).r) ~= ARGV[2] then
  return {-1, raw}
end
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
return {1, raw}
"""

LIST_MEMORIES = """
-- KEYS[1] ids zset, KEYS[2] items hash
-- ARGV[1] lower bound, ARGV[2] upper bound (ZRANGE BYLEX syntax: '-', '+', '(id')
-- ARGV[3] '1' to walk from the upper bound down (newest first), ARGV[4] how many
-- Returns {ids, records}; a record is false if an id has no item (never expected).
local ids
if ARGV[3] == '1' then
  ids = redis.call('ZRANGE', KEYS[1], ARGV[2], ARGV[1], 'BYLEX', 'REV', 'LIMIT', 0, ARGV[4])
else
  ids = redis.call('ZRANGE', KEYS[1], ARGV[1], ARGV[2], 'BYLEX', 'LIMIT', 0, ARGV[4])
end
if #ids == 0 then
  return {ids, {}}
end
return {ids, redis.call('HMGET', KEYS[2], unpack(ids))}
"""

CREATE_API_KEY = """
-- KEYS[1] key record (by lookup), KEYS[2] key index
-- ARGV[1] key id, ARGV[2] lookup (half the secret's sha256), then field/value pairs of the record
redis.call('HSET', KEYS[1], unpack(ARGV, 3))
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
return 1
"""

REVOKE_API_KEY = """
-- KEYS[1] key index, KEYS[2] key record (by lookup)
-- ARGV[1] key id, ARGV[2] the lookup the caller read from the index
-- Returns 1 when revoked, 0 when the index no longer maps that id to that hash.
if redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2] then
  return 0
end
redis.call('DEL', KEYS[2])
redis.call('HDEL', KEYS[1], ARGV[1])
return 1
"""
