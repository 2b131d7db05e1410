"""Shared spaces: their records and members (the memories of a space are kept by the memory store
under the space's owner string, owners.py).

A space's record and members live under the space's hash tag, so membership changes are one
script on one slot. Each user also has an index of their spaces on their own slot, to list them;
the members hash is the truth, written last when a member joins and first when one leaves, and
every read that grants access asks it, so a removed member loses access with that one write.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from ..owners import space_owner
from . import keys
from .records import dumps, hash_pairs, text
from .redis import RedisStore, raises_store_unavailable


@dataclass(frozen=True)
class SpaceRecord:
    id: str
    name: str
    created_at: int
    created_by: str


@dataclass(frozen=True)
class MemberRecord:
    user: str
    role: str
    inject: bool
    added_at: int


class MembershipRefused(Exception):
    """A membership change the rules refuse: `why` is 'gone', 'not_member', 'member_exists', 'full' or
    'last_admin'."""

    def __init__(self, why: str) -> None:
        super().__init__(why)
        self.why = why


def _member(user: str, raw: Any) -> MemberRecord:
    value = json.loads(raw)
    return MemberRecord(user=user, role=value["role"], inject=bool(value.get("inject")),
                        added_at=int(value.get("added_at") or 0))


def _space(space_id: str, raw: dict[str, str]) -> SpaceRecord | None:
    if not raw:
        return None
    return SpaceRecord(id=space_id, name=raw.get("name", ""), created_at=int(raw.get("created_at") or 0),
                       created_by=raw.get("created_by", ""))


def _keys(space_id: str) -> list[str]:
    owner = space_owner(space_id)
    return [keys.space_record(owner), keys.space_members(owner)]


@raises_store_unavailable
class SpaceStore:
    def __init__(self, redis_store: RedisStore) -> None:
        self._redis = redis_store

    def create(self, space: SpaceRecord, admin: MemberRecord) -> None:
        """A new space with its first member (both keys on the space's slot, in one script)."""
        self._redis.client.hset(keys.user_spaces(admin.user), space.id, admin.added_at)
        member = dumps({"role": admin.role, "inject": admin.inject, "added_at": admin.added_at})
        self._redis.script("CREATE_SPACE")(keys=_keys(space.id), args=[dumps(
            {"name": space.name, "created_at": space.created_at, "created_by": admin.user, "member": member})])

    def get(self, space_id: str) -> SpaceRecord | None:
        raw = self._redis.client.hgetall(keys.space_record(space_owner(space_id)))
        return _space(space_id, {text(k): text(v) for k, v in hash_pairs(raw)})

    def rename(self, space_id: str, name: str) -> bool:
        """Set the name of a space that exists (False: it does not)."""
        return bool(self._redis.script("RENAME_SPACE")(keys=_keys(space_id), args=[dumps({"name": name})]))

    def member(self, space_id: str, user: str) -> MemberRecord | None:
        """The user's membership of the space, from the truth (None: not a member, or no such space)."""
        raw = self._redis.client.hget(keys.space_members(space_owner(space_id)), user)
        return _member(user, raw) if raw is not None else None

    def members(self, space_id: str) -> list[MemberRecord]:
        raw = self._redis.client.hgetall(keys.space_members(space_owner(space_id)))
        return sorted((_member(text(user), value) for user, value in hash_pairs(raw)),
                      key=lambda m: (m.added_at, m.user))

    def spaces_of(self, user: str) -> list[tuple[SpaceRecord, MemberRecord]]:
        """The spaces the user is a member of now, oldest membership first: the user's index, each entry
        confirmed by the space's members (an entry left by an interrupted leave is dropped here)."""
        index = self._redis.client.hgetall(keys.user_spaces(user))
        space_ids = sorted(text(space_id) for space_id, _ in hash_pairs(index))
        if not space_ids:
            return []
        pipe = self._redis.client.pipeline(transaction=False)
        for space_id in space_ids:
            owner = space_owner(space_id)
            pipe.hgetall(keys.space_record(owner))
            pipe.hget(keys.space_members(owner), user)
        replies = pipe.execute()
        found, stale = [], []
        for i, space_id in enumerate(space_ids):
            record = _space(space_id, {text(k): text(v) for k, v in hash_pairs(replies[2 * i])})
            member = replies[2 * i + 1]
            if record is None or member is None:
                stale.append(space_id)
            else:
                found.append((record, _member(user, member)))
        if stale:
            self._redis.client.hdel(keys.user_spaces(user), *stale)
        return sorted(found, key=lambda pair: (pair[1].added_at, pair[0].id))

    def add_member(self, space_id: str, member: MemberRecord, *, max_members: int) -> MemberRecord:
        self._redis.client.hset(keys.user_spaces(member.user), space_id, member.added_at)
        try:
            return self._set(space_id, {"user": member.user, "role": member.role, "inject": member.inject,
                                        "now": member.added_at, "max_members": max_members})
        except MembershipRefused as refused:
            if refused.why != "member_exists":
                self._redis.client.hdel(keys.user_spaces(member.user), space_id)
            raise

    def change_member(self, space_id: str, user: str, *, role: str | None, inject: bool | None) -> MemberRecord:
        change: dict[str, Any] = {"user": user, "change": True}
        if role is not None:
            change["role"] = role
        if inject is not None:
            change["inject"] = inject
        return self._set(space_id, change)

    def _set(self, space_id: str, plan: dict[str, Any]) -> MemberRecord:
        reply = self._redis.script("SET_SPACE_MEMBER")(keys=_keys(space_id), args=[dumps(plan)])
        if text(reply[0]) != "ok":
            raise MembershipRefused(text(reply[0]))
        return _member(plan["user"], reply[1])

    def remove_member(self, space_id: str, user: str) -> None:
        reply = self._redis.script("REMOVE_SPACE_MEMBER")(keys=_keys(space_id), args=[dumps({"user": user})])
        if text(reply[0]) != "ok":
            raise MembershipRefused(text(reply[0]))
        self._redis.client.hdel(keys.user_spaces(user), space_id)

    def delete(self, space_id: str) -> list[MemberRecord]:
        """Remove the space: its record and members first (from then on nobody has access), then every
        other key of it (memories, index, history, feed), then its entries in the members' indexes.
        Returns the members it had."""
        owner = space_owner(space_id)
        raw_members = self._redis.script("END_SPACE")(keys=_keys(space_id), args=[])
        members = [_member(text(user), value) for user, value in hash_pairs(raw_members)]
        batch: list[str] = []
        for name in self._redis.client.scan_iter(match=keys.owner_keys_pattern(owner), count=1000):
            batch.append(text(name))
            if len(batch) >= 500:
                self._redis.client.unlink(*batch)
                batch = []
        if batch:
            self._redis.client.unlink(*batch)
        for member in members:
            self._redis.client.hdel(keys.user_spaces(member.user), space_id)
        return members

    def own_or_spaces(self, user: str, memory_id: str, *, deleted_too: bool = False) -> tuple[bool, list[str]]:
        """(does the user keep this memory themselves, the spaces their index lists): one round trip, on the
        user's slot. The spaces are unconfirmed: who reads one is checked against its members."""
        pipe = self._redis.client.pipeline(transaction=False)
        pipe.hexists(keys.memory_items(user), memory_id)
        if deleted_too:
            pipe.zscore(keys.memory_deleted(user), memory_id)
        pipe.hkeys(keys.user_spaces(user))
        *held, space_ids = pipe.execute()
        return any(h not in (None, False, 0) for h in held), sorted(text(s) for s in space_ids)

    def holders(self, owners: list[str], memory_id: str, *, deleted_too: bool = False) -> list[str]:
        """Which of these owners keep a memory with this id (stored, or with `deleted_too` kept deleted)."""
        pipe = self._redis.client.pipeline(transaction=False)
        for owner in owners:
            pipe.hexists(keys.memory_items(owner), memory_id)
            if deleted_too:
                pipe.zscore(keys.memory_deleted(owner), memory_id)
        replies = pipe.execute()
        step = 2 if deleted_too else 1
        return [owner for i, owner in enumerate(owners)
                if replies[i * step] or (deleted_too and replies[i * step + 1] is not None)]
