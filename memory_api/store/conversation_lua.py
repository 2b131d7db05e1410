"""Lua scripts for conversations: KEYS are always (lock, meta, messages, ids) (keys.conversation_keys).

Each script documents its KEYS and ARGV; store/redis.py registers them once per client and calls
them by SHA. All KEYS of one call carry the same hash tag.
"""

CREATE_CONVERSATION = """
-- KEYS[1] lock (unused), KEYS[2] meta, KEYS[3] messages, KEYS[4] ids
-- ARGV[1] conversation id, ARGV[2] created_at, ARGV[3] metadata JSON, ARGV[4] scope ('' = none),
-- ARGV[5] capture ('1' on, '0' off, '' the server's default)
if redis.call('EXISTS', KEYS[2]) == 1 then
  return 0
end
redis.call('HSET', KEYS[2], 'created_at', ARGV[2], 'updated_at', ARGV[2], 'summary', '',
           'summarized_through', 0, 'summary_tokens', 0, 'system', '', 'metadata', ARGV[3], 'scope', ARGV[4],
           'capture', ARGV[5])
redis.call('ZADD', KEYS[4], 0, ARGV[1])
return 1
"""

APPEND_TURNS = """
-- KEYS[1] lock, KEYS[2] meta, KEYS[3] messages, KEYS[4] ids
-- ARGV[1] lock token, ARGV[2] updated_at, ARGV[3] '1' to replace the system prompt with ARGV[4],
-- ARGV[5..] message records (JSON), appended in order.
-- Returns the new message count, 0 if the conversation is gone, -1 if the lock is not ours.
-- Records go in a few hundred per RPUSH: unpack() of thousands fails ('too many results to unpack').
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return -1
end
if redis.call('EXISTS', KEYS[2]) == 0 then
  return 0
end
if ARGV[3] == '1' then
  redis.call('HSET', KEYS[2], 'system', ARGV[4])
end
redis.call('HSET', KEYS[2], 'updated_at', ARGV[2])
for first = 5, #ARGV, 500 do
  redis.call('RPUSH', KEYS[3], unpack(ARGV, first, math.min(first + 499, #ARGV)))
end
return redis.call('LLEN', KEYS[3])
"""

APPLY_SUMMARY = """
-- KEYS[1] lock, KEYS[2] meta, KEYS[3] messages, KEYS[4] ids
-- ARGV[1] lock token, ARGV[2] the summarized_through the summary was built on,
-- ARGV[3] how many of the oldest stored messages the summary folds in, ARGV[4] summary, ARGV[5] its tokens
-- Returns 1, or -1 if the lock is not ours / the thread moved on (nothing is changed then).
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return -1
end
if redis.call('HGET', KEYS[2], 'summarized_through') ~= ARGV[2] then
  return -1
end
local folded = tonumber(ARGV[3])
redis.call('LTRIM', KEYS[3], folded, -1)
redis.call('HSET', KEYS[2], 'summary', ARGV[4], 'summary_tokens', ARGV[5],
           'summarized_through', tonumber(ARGV[2]) + folded)
return 1
"""

DELETE_CONVERSATION = """
-- KEYS[1] lock, KEYS[2] meta, KEYS[3] messages, KEYS[4] ids; ARGV[1] conversation id
-- Returns 1 when deleted, 0 when there was no such conversation.
local existed = redis.call('DEL', KEYS[2])
redis.call('DEL', KEYS[1], KEYS[3])
redis.call('ZREM', KEYS[4], ARGV[1])
return existed
"""

RELEASE_LOCK = """
-- KEYS[1] lock; ARGV[1] token. Deletes the lock only if it is still ours.
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""

EXTEND_LOCK = """
-- KEYS[1] lock; ARGV[1] token, ARGV[2] new time to live in ms. Extends only if still ours.
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""
