"""Lua scripts that change a space's membership: one script each, so the rules that read every
member (the member limit, "a space keeps at least one admin") hold however requests interleave.

KEYS[1] the space's record, KEYS[2] its members (store/keys.py); ARGV[1] one JSON argument.
A member's value is JSON {"role", "inject", "added_at"}.
"""

_MEMBERS_LUA = """
local P = cjson.decode(ARGV[1])
local RECORD, MEMBERS = KEYS[1], KEYS[2]
if redis.call('EXISTS', RECORD) == 0 then return {'gone'} end
local function admins()
  local n = 0
  for _, raw in ipairs(redis.call('HVALS', MEMBERS)) do
    if cjson.decode(raw).role == 'admin' then n = n + 1 end
  end
  return n
end
local current = redis.call('HGET', MEMBERS, P.user)
"""

# Add a member (P.user, P.role, P.inject, P.now; P.max_members) or change one (P.change: only the
# given role and/or inject). Replies {'ok', member JSON} or {'gone' | 'not_member' | 'member_exists' |
# 'full' | 'last_admin'}.
SET_SPACE_MEMBER = _MEMBERS_LUA + """
local member
if P.change then
  if not current then return {'not_member'} end
  member = cjson.decode(current)
  if P.role and member.role == 'admin' and P.role ~= 'admin' and admins() <= 1 then return {'last_admin'} end
  if P.role then member.role = P.role end
  if P.inject ~= nil then member.inject = P.inject end
else
  if current then return {'member_exists', current} end
  if redis.call('HLEN', MEMBERS) >= P.max_members then return {'full'} end
  member = {role = P.role, inject = P.inject, added_at = P.now}
end
local encoded = cjson.encode(member)
redis.call('HSET', MEMBERS, P.user, encoded)
return {'ok', encoded}
"""

# Remove a member (P.user), unless it is the space's last admin. Replies {'ok'} or {'gone' |
# 'not_member' | 'last_admin'}.
REMOVE_SPACE_MEMBER = _MEMBERS_LUA + """
if not current then return {'not_member'} end
if cjson.decode(current).role == 'admin' and admins() <= 1 then return {'last_admin'} end
redis.call('HDEL', MEMBERS, P.user)
return {'ok'}
"""

# A new space (P.name, P.created_at, P.created_by) with its first member (P.member: JSON).
CREATE_SPACE = """
local P = cjson.decode(ARGV[1])
redis.call('HSET', KEYS[1], 'name', P.name, 'created_at', P.created_at, 'created_by', P.created_by)
redis.call('HSET', KEYS[2], P.created_by, P.member)
return 1
"""

# Rename a space that exists (P.name). Replies 1, or 0 if there is no such space.
RENAME_SPACE = """
local P = cjson.decode(ARGV[1])
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'name', P.name)
return 1
"""

# End a space: its record and members go together (from then on nobody has access). Replies the
# members it had (HGETALL's flat list).
END_SPACE = """
local members = redis.call('HGETALL', KEYS[2])
redis.call('DEL', KEYS[1], KEYS[2])
return members
"""
