"""Lua scripts for API keys, conversations and idempotency records (memories: memory_scripts.py).

Each script documents its KEYS and ARGV. They are registered once per client
(`redis.register_script`) and called by SHA (EVALSHA, falling back to EVAL once
after a Redis restart). All KEYS of one call carry the same hash tag.
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

# --- conversations: KEYS are always (lock, meta, messages, ids) ----------------------

CREATE_CONVERSATION = """
-- KEYS[1] lock (unused), KEYS[2] meta, KEYS[3] messages, KEYS[4] ids
-- ARGV[1] conversation id, ARGV[2] created_at, ARGV[3] metadata JSON, ARGV[4] scope ('' = none)
if redis.call('EXISTS', KEYS[2]) == 1 then
  return 0
end
redis.call('HSET', KEYS[2], 'created_at', ARGV[2], 'updated_at', ARGV[2], 'summary', '',
           'summarized_through', 0, 'summary_tokens', 0, 'system', '', 'metadata', ARGV[3], 'scope', ARGV[4])
redis.call('ZADD', KEYS[4], 0, ARGV[1])
return 1
"""

APPEND_TURNS = """
-- KEYS[1] lock, KEYS[2] meta, KEYS[3] messages, KEYS[4] ids
-- ARGV[1] lock token, ARGV[2] updated_at, ARGV[3] '1' to replace the system prompt with ARGV[4],
-- ARGV[5..] message records (JSON), appended in order.
-- Returns the new message count, 0 if the conversation is gone, -1 if the lock is not ours.
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
if #ARGV >= 5 then
  redis.call('RPUSH', KEYS[3], unpack(ARGV, 5))
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

# --- idempotency keys ---------------------------------------------------------------

IDEMPOTENCY_BEGIN = """
-- KEYS[1] the key's record (HASH)
-- ARGV[1] request fingerprint, ARGV[2] now (ms), ARGV[3] lease (ms), ARGV[4] window (ms), ARGV[5] a fresh nonce
-- Returns {'new', nonce}, {'takeover', nonce} (the first attempt's lease ran out), {'busy'},
-- {'mismatch'} (same key, other request), or {'done', status, headers JSON, body}.
local rec = redis.call('HMGET', KEYS[1], 'fp', 'state', 'lease_until', 'nonce', 'status', 'headers', 'body')
local now = tonumber(ARGV[2])
if not rec[1] then
  redis.call('HSET', KEYS[1], 'fp', ARGV[1], 'state', 'running', 'lease_until', now + tonumber(ARGV[3]),
             'nonce', ARGV[5])
  redis.call('PEXPIRE', KEYS[1], ARGV[4])
  return {'new', ARGV[5]}
end
if rec[1] ~= ARGV[1] then
  return {'mismatch'}
end
if rec[2] == 'done' then
  return {'done', rec[5], rec[6], rec[7]}
end
if tonumber(rec[3]) > now then
  return {'busy'}
end
redis.call('HSET', KEYS[1], 'lease_until', now + tonumber(ARGV[3]))
return {'takeover', rec[4]}
"""

IDEMPOTENCY_FINISH = """
-- KEYS[1] the key's record; ARGV[1] fingerprint, ARGV[2] status, ARGV[3] headers JSON, ARGV[4] body
-- Stores the response for replays (the record keeps its expiry). Returns 1, or 0 if the record is gone.
if redis.call('HGET', KEYS[1], 'fp') ~= ARGV[1] then
  return 0
end
redis.call('HSET', KEYS[1], 'state', 'done', 'status', ARGV[2], 'headers', ARGV[3], 'body', ARGV[4])
return 1
"""

IDEMPOTENCY_ABANDON = """
-- KEYS[1] the key's record; ARGV[1] fingerprint. Forgets a running attempt (it failed: a retry may run).
if redis.call('HGET', KEYS[1], 'fp') == ARGV[1] and redis.call('HGET', KEYS[1], 'state') == 'running' then
  return redis.call('DEL', KEYS[1])
end
return 0
"""
