"""Lua scripts for Idempotency-Key records: reserve, finish, abandon.

Each script documents its KEYS and ARGV; store/redis.py registers them once per client and calls
them by SHA. All KEYS of one call carry the same hash tag.
"""

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
