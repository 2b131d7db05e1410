"""Shared spaces: who may read and write which space's memories, and the spaces themselves.

A space's memories are kept by the memory store like a user's (owners.py). Every door asks this
service for the owner to work on, naming the acting user, the space and what the request needs
(read, write, admin); the answer comes from the space's members as they are at that moment, so a
membership change holds from the next request on. To a user who is not a member, a space does not
exist: every refusal is the 404 another user's memory gets. A member whose role is too low gets a
403 naming the role needed.

Roles: reader (search, read, injected into their chats), writer (also create, update, delete,
revert), admin (also members, rename, delete the space). A space always keeps an admin.
"""

from __future__ import annotations

import builtins
import re
import time
from dataclasses import dataclass
from typing import Any

from ..errors import Conflict, InvalidRequest, NotFound, PermissionDenied
from ..ids import SPACE_ID_PATTERN, SPACE_PREFIX, id_problem, new_ulid
from ..owners import space_owner
from ..store.events import EventStore
from ..store.spaces import MemberRecord, MembershipRefused, SpaceRecord, SpaceStore
from ..validation import SPACE_CHARS
from .auth import validate_user_id
from .memories import MemoryService

_space_id_re = re.compile(SPACE_ID_PATTERN)
ROLES = ("reader", "writer", "admin")
NEEDS = {"read": "reader", "write": "writer", "admin": "admin"}
MAX_NAME_CHARS = 100
# A name is one line: no control characters at all (so no line end), and not blank. The same rule as
# openapi.yaml's pattern; lone surrogates, which JSON can carry but UTF-8 cannot encode, are refused too.
NAME_PATTERN = rf"^[^\x00-\x1F\x7F]*[^{SPACE_CHARS}\x00-\x1F\x7F][^\x00-\x1F\x7F]*$"
_name_re = re.compile(NAME_PATTERN)
_LONE_SURROGATE = re.compile(r"[\ud800-\udfff]")


@dataclass(frozen=True)
class Space:
    """A space as one member sees it: with their own role and inject switch."""

    record: SpaceRecord
    membership: MemberRecord

    @property
    def id(self) -> str:
        return self.record.id

    @property
    def name(self) -> str:
        return self.record.name

    @property
    def owner(self) -> str:
        return space_owner(self.record.id)

    def to_api(self) -> dict[str, Any]:
        return {"id": self.record.id, "object": "space", "name": self.record.name,
                "created_at": self.record.created_at, "created_by": self.record.created_by,
                "user": self.membership.user, "role": self.membership.role, "inject": self.membership.inject}


def member_to_api(member: MemberRecord, space_id: str) -> dict[str, Any]:
    return {"object": "space.member", "space": space_id, "user": member.user, "role": member.role,
            "inject": member.inject, "added_at": member.added_at}


def check_space_id(value: object, *, param: str = "space") -> str:
    if not isinstance(value, str) or not _space_id_re.fullmatch(value):
        problem = id_problem(value, SPACE_PREFIX)
        raise InvalidRequest(f"'{param}' is not a space id: {problem or 'it is malformed'}.", param=param,
                             code="invalid_id")
    return value


def check_role(value: object, *, param: str = "role") -> str:
    if value not in ROLES:
        raise InvalidRequest(f"'{param}' must be one of {', '.join(ROLES)}.", param=param, code="invalid_value")
    return value


def check_name(value: object, *, param: str = "name") -> str:
    if (not isinstance(value, str) or len(value) > MAX_NAME_CHARS or not _name_re.fullmatch(value)
            or _LONE_SURROGATE.search(value)):
        raise InvalidRequest(f"'{param}' must be a name of 1 to {MAX_NAME_CHARS} characters on one line.",
                             param=param, code="invalid_value")
    return value.strip()


def _not_found(space_id: str, param: str = "space") -> NotFound:
    return NotFound(f"No space found with id '{space_id}'.", param=param, code="space_not_found")


_REFUSALS = {
    "last_admin": ("A space keeps at least one admin: make another member admin first.", "last_admin"),
    "member_exists": ("'{user}' is a member of this space already: change their role with PATCH.",
                      "member_exists"),
    "full": ("This space has the most members it may have ({max_members}).", "space_full"),
}


class SpaceService:
    def __init__(self, store: SpaceStore, memories: MemoryService, events: EventStore, *,
                 max_spaces_per_user: int = 100, max_members: int = 1000, events_kept: int = 1000) -> None:
        self._store = store
        self._memories = memories
        self._events = events
        self.max_spaces_per_user = max_spaces_per_user
        self.max_members = max_members
        self._events_kept = events_kept

    # --- access: every door asks these before touching a space's memories ---

    def space(self, user: str, space_id: object, need: str = "read", *, param: str = "space") -> Space:
        """The space as `user` sees it, if they are a member with at least the role `need` asks
        ('read', 'write', 'admin'); else 404 (not a member: the space does not exist for them) or 403."""
        space_id = check_space_id(space_id, param=param)
        member = self._store.member(space_id, user)
        record = self._store.get(space_id) if member is not None else None
        if member is None or record is None:
            raise _not_found(space_id, param)
        wanted = NEEDS[need]
        if ROLES.index(member.role) < ROLES.index(wanted):
            doing = {"writer": "write to", "admin": "manage"}[wanted]
            raise PermissionDenied(f"You are a {member.role} of space '{space_id}': only a {wanted} or above may "
                                   f"{doing} it.", param=param, code="insufficient_role")
        return Space(record, member)

    def owner(self, user: str, space_id: object | None, need: str = "read", *, param: str = "space") -> str:
        """Whose memories a request works on: the user's own (`space_id` None), or the space's (checked)."""
        if space_id is None:
            return user
        return self.space(user, space_id, need, param=param).owner

    def locate(self, user: str, memory_id: str, need: str = "read", *, space: object | None = None,
               deleted_too: bool = False) -> str:
        """The owner keeping a memory the user may reach: the space named (`space`, checked as owner()
        checks it), else their own, else one of their spaces'. An id found nowhere they may read is the
        user's (so the memory service answers its usual 404)."""
        if space is not None:
            return self.owner(user, space, need)
        # One round trip when the memory is the user's own (the common case) or they are in no space.
        own, space_ids = self._store.own_or_spaces(user, memory_id, deleted_too=deleted_too)
        if own or not space_ids:
            return user
        owners = {space_owner(s): s for s in space_ids}
        holders = self._store.holders(list(owners), memory_id, deleted_too=deleted_too)
        if not holders:
            return user
        try:
            return self.space(user, owners[holders[0]], need).owner
        except NotFound:  # a space the index still lists, that they have left: the memory is not theirs
            return user

    def injected(self, user: str, named: object) -> builtins.list[Space]:
        """The spaces whose memories go into a user's chat: those named (`memory.spaces`, each one the user
        may read), or with none named, the spaces whose membership has `inject` on."""
        if named is None:
            return [Space(r, m) for r, m in self._store.spaces_of(user) if m.inject]
        if not isinstance(named, list) or len(named) > self.max_spaces_per_user:
            raise InvalidRequest(f"'memory.spaces' must be an array of at most {self.max_spaces_per_user} space ids.",
                                 param="memory.spaces", code="invalid_value")
        unique = list(dict.fromkeys(check_space_id(s, param="memory.spaces") for s in named))
        return [self.space(user, space_id, "read", param="memory.spaces") for space_id in unique]

    # --- spaces ---

    def create(self, user: str, name: object) -> Space:
        name = check_name(name)
        self._check_room(user)
        now = int(time.time())
        record = SpaceRecord(id=SPACE_PREFIX + new_ulid(), name=name, created_at=now, created_by=user)
        admin = MemberRecord(user=user, role="admin", inject=True, added_at=now)
        self._store.create(record, admin)
        return Space(record, admin)

    def list(self, user: str) -> builtins.list[Space]:
        return [Space(r, m) for r, m in self._store.spaces_of(user)]

    def rename(self, user: str, space_id: object, name: object) -> Space:
        space = self.space(user, space_id, "admin")
        name = check_name(name)
        if not self._store.rename(space.id, name):
            raise _not_found(space.id)
        return Space(SpaceRecord(space.id, name, space.record.created_at, space.record.created_by), space.membership)

    def delete(self, user: str, space_id: object, *, confirm: object) -> dict[str, Any]:
        """Delete a space and every memory in it (`confirm` must be true, as for delete-all). The deletion
        is an entry in the activity feed of every admin it had."""
        space = self.space(user, space_id, "admin")
        if confirm is not True:
            raise InvalidRequest("Deleting a space deletes every memory in it: pass confirm=true.", param="confirm",
                                 code="confirmation_required")
        count = self._memories.store.count(space.owner)
        members = self._store.delete(space.id)
        for member in members:
            if member.role == "admin":
                self._events.append(member.user, {"type": "space.deleted", "space": space.id, "source": "api",
                                                  "revision": "0", "author": user,
                                                  "reason": f"space '{space.name}' deleted"},
                                    kept=self._events_kept)
        return {"id": space.id, "object": "space.deleted", "deleted": True, "memories_deleted": count}

    def _check_room(self, user: str) -> None:
        if len(self._store.spaces_of(user)) >= self.max_spaces_per_user:
            raise Conflict(f"'{user}' is a member of the most spaces one user may be in ({self.max_spaces_per_user}).",
                           param="user", code="too_many_spaces")

    # --- members ---

    def members(self, user: str, space_id: object) -> builtins.list[dict[str, Any]]:
        space = self.space(user, space_id, "read")
        return [member_to_api(m, space.id) for m in self._store.members(space.id)]

    def add_member(self, user: str, space_id: object, member: object, role: object = "reader",
                   inject: object = True) -> dict[str, Any]:
        space = self.space(user, space_id, "admin")
        member = validate_user_id(member, param="user")
        role = check_role(role)
        if not isinstance(inject, bool):
            raise InvalidRequest("'inject' must be true or false.", param="inject", code="invalid_value")
        self._check_room(member)
        record = MemberRecord(user=member, role=role, inject=inject, added_at=int(time.time()))
        try:
            added = self._store.add_member(space.id, record, max_members=self.max_members)
        except MembershipRefused as refused:
            raise self._refused(refused, space.id, member) from None
        return member_to_api(added, space.id)

    def update_member(self, user: str, space_id: object, member: object, *, role: object = None,
                      inject: object = None) -> dict[str, Any]:
        """An admin changes anyone's role or inject switch; any member changes their own inject switch."""
        member = validate_user_id(member, param="user")
        if role is None and inject is None:
            raise InvalidRequest("Nothing to change: give 'role' and/or 'inject'.", param="role", code="empty_update")
        if inject is not None and not isinstance(inject, bool):
            raise InvalidRequest("'inject' must be true or false.", param="inject", code="invalid_value")
        if role is not None:
            role = check_role(role)
        own_switch = member == user and role is None
        space = self.space(user, space_id, "read" if own_switch else "admin")
        try:
            changed = self._store.change_member(space.id, member, role=role, inject=inject)
        except MembershipRefused as refused:
            raise self._refused(refused, space.id, member) from None
        return member_to_api(changed, space.id)

    def remove_member(self, user: str, space_id: object, member: object) -> dict[str, Any]:
        """An admin removes a member; any member removes themselves (leaves)."""
        member = validate_user_id(member, param="user")
        space = self.space(user, space_id, "read" if member == user else "admin")
        try:
            self._store.remove_member(space.id, member)
        except MembershipRefused as refused:
            raise self._refused(refused, space.id, member) from None
        return {"object": "space.member.deleted", "space": space.id, "user": member, "deleted": True}

    def _refused(self, refused: MembershipRefused, space_id: str, member: str) -> Exception:
        if refused.why == "gone":
            return _not_found(space_id)
        if refused.why == "not_member":
            return NotFound(f"'{member}' is not a member of space '{space_id}'.", param="user",
                            code="member_not_found")
        message, code = _REFUSALS[refused.why]
        return Conflict(message.format(user=member, max_members=self.max_members), param="user", code=code)

