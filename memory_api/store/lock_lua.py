"""The Lua of store/sweep_lock.py (kept apart: store/redis.py registers it, and imports no store class)."""

# Released only by the token that took it (a sweep that outlived its lock must not free another's).
RELEASE_LOCK = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
