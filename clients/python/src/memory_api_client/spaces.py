"""`client.spaces`: shared spaces and their members, as openai SDK resources (synchronous).

A space's memories are read and written through `client.memory`, naming it: `space=` on create, list,
search, stats, tags, export, import and the batch calls (by id, a memory is found among the user's own
and their spaces'). Each method sends the request _operations.py builds for it, and its async twin, async_spaces.py,
declares the same methods and sends the same requests.
"""

from __future__ import annotations

from functools import cached_property

from openai import NOT_GIVEN, NotGiven
from openai.pagination import SyncCursorPage
from typing_extensions import Unpack

from . import _operations as op
from . import _requests as r
from .memory import _Resource
from .types import Role, Space, SpaceDeleted, SpaceMember, SpaceMemberDeleted


class Members(_Resource):
    """`client.spaces.members`: who belongs to a space, and with which role."""

    def list(self, space_id: str, **extras: Unpack[r.RequestExtras]) -> SyncCursorPage[SpaceMember]:
        """Every member of the space (any member may look), with role and inject switch."""
        return self._pages(op.list_members(space_id, extras=extras))

    def add(self, space_id: str, *, user: str, role: Role | NotGiven = NOT_GIVEN,
            inject: bool | NotGiven = NOT_GIVEN, idempotency_key: str | NotGiven = NOT_GIVEN,
            **extras: Unpack[r.RequestExtras]) -> SpaceMember:
        """Add a user as reader (the default), writer or admin; admins only. openai.ConflictError:
        member_exists, space_full, too_many_spaces."""
        return self._send(op.add_member(space_id, user=user, role=role, inject=inject,
                                        idempotency_key=idempotency_key, extras=extras))

    def update(self, space_id: str, user: str, *, role: Role | NotGiven = NOT_GIVEN,
               inject: bool | NotGiven = NOT_GIVEN, **extras: Unpack[r.RequestExtras]) -> SpaceMember:
        """Change a member's role (admins only) or inject switch (admins, or the member themselves)."""
        return self._send(op.update_member(space_id, user, role=role, inject=inject, extras=extras))

    def remove(self, space_id: str, user: str, **extras: Unpack[r.RequestExtras]) -> SpaceMemberDeleted:
        """Remove a member (admins only), or leave (`user`: your own id); from their next request on, they
        no longer see the space."""
        return self._send(op.remove_member(space_id, user, extras=extras))


class Spaces(_Resource):
    """`client.spaces`: the shared spaces the user is a member of."""

    @cached_property
    def members(self) -> Members:
        return Members(self._client)

    def create(self, *, name: str, idempotency_key: str | NotGiven = NOT_GIVEN,
               **extras: Unpack[r.RequestExtras]) -> Space:
        """A new space; you are its first admin."""
        return self._send(op.create_space(name=name, idempotency_key=idempotency_key, extras=extras))

    def list(self, **extras: Unpack[r.RequestExtras]) -> SyncCursorPage[Space]:
        """The spaces you are a member of, with your role in each."""
        return self._pages(op.list_spaces(extras=extras))

    def retrieve(self, space_id: str, **extras: Unpack[r.RequestExtras]) -> Space:
        """A space you are a member of (any other: openai.NotFoundError)."""
        return self._send(op.retrieve_space(space_id, extras=extras))

    def update(self, space_id: str, *, name: str, **extras: Unpack[r.RequestExtras]) -> Space:
        """Rename a space; admins only."""
        return self._send(op.update_space(space_id, name=name, extras=extras))

    def delete(self, space_id: str, *, confirm: bool, **extras: Unpack[r.RequestExtras]) -> SpaceDeleted:
        """Delete a space and every memory in it, for every member; admins only, with confirm=True."""
        return self._send(op.delete_space(space_id, confirm=confirm, extras=extras))
