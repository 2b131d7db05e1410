"""Lua scripts for the per-API-key cap on concurrent streams (store/stream_slots.py).

KEYS[1] is always keys.stream_slots(key id): a ZSET of slot token -> lease expiry in
milliseconds, on Redis' own clock (TIME), so servers with skewed clocks agree. A slot whose
lease ran out (its worker died mid-stream) no longer counts.
"""

ACQUIRE_STREAM_SLOT = """
-- KEYS[1] slots; ARGV[1] token, ARGV[2] lease in ms, ARGV[3] cap.
-- Returns 1 with the slot taken, or 0 when the cap is reached.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then
  return 0
end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
"""

RENEW_STREAM_SLOT = """
-- KEYS[1] slots; ARGV[1] token, ARGV[2] lease in ms. Extends the slot's lease if it is still held;
-- returns 1 then, else 0. (Every lease has the same length, so the newest one outlasts the others:
-- the key's own expiry follows it.)
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then
  return 0
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
"""
