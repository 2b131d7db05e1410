"""Lua scripts for API keys: creating or revoking one changes its record and the index together.

Each script documents its KEYS and ARGV; store/redis.py registers them once per client and calls
them by SHA. All KEYS of one call carry the same hash tag.
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
