"""/v1/spaces: shared spaces and their members. A space's memories are read and written through the
memory endpoints, naming the space (memory.py, spaces_access.py)."""

from __future__ import annotations

from flask.views import MethodView

from ..ids import SPACE_ID_PATTERN
from ..services.auth import USER_ID_PATTERN
from .docs import USER_HEADER_PARAM, documents_errors, writes
from .hooks import register_v1_hooks
from .parsing import Blueprint, json_response, principal, services
from .schemas.spaces import (
    MemberCreateRequest,
    MemberDeleted,
    MemberList,
    MemberObject,
    MemberUpdateRequest,
    SpaceCreateRequest,
    SpaceDeleted,
    SpaceDeleteQuery,
    SpaceList,
    SpaceObject,
    SpaceUpdateRequest,
)

blp = Blueprint("spaces", __name__, url_prefix="/v1/spaces",
                description="Shared spaces: memories a team keeps together, and who may read or write them.")
register_v1_hooks(blp)

SPACE_ID_PARAM = {"in": "path", "name": "space_id", "required": True,
                  "schema": {"type": "string", "pattern": SPACE_ID_PATTERN}, "description": "The space's id."}
MEMBER_PARAM = {"in": "path", "name": "user", "required": True,
                "schema": {"type": "string", "pattern": USER_ID_PATTERN}, "description": "The member's user id."}


def _user() -> str:
    return principal().user_id


def _list(data: list[dict], *, cursors: bool = True):
    body: dict = {"object": "list", "data": data, "has_more": False}
    if cursors:
        body["first_id"] = data[0]["id"] if data else None
        body["last_id"] = data[-1]["id"] if data else None
    return json_response(body)


@blp.route("", parameters=[USER_HEADER_PARAM])
class Spaces(MethodView):
    @blp.doc(operationId="listSpaces", summary="List your spaces")
    @blp.response(200, SpaceList)
    @documents_errors(blp)
    def get(self):
        """The spaces you are a member of, with your role in each (oldest membership first)."""
        return _list([space.to_api() for space in services().spaces.list(_user())])

    @blp.doc(operationId="createSpace", summary="Create a space")
    @blp.arguments(SpaceCreateRequest())
    @blp.response(200, SpaceObject)
    @documents_errors(blp, 409, 413, 415)
    @writes(blp)
    def post(self, body):
        """A new space; you are its first admin. 409 `too_many_spaces` past MEMORY_API_MAX_SPACES_PER_USER."""
        return json_response(services().spaces.create(_user(), body["name"]).to_api())


@blp.route("/<string:space_id>", parameters=[SPACE_ID_PARAM, USER_HEADER_PARAM])
class SpaceById(MethodView):
    @blp.doc(operationId="getSpace", summary="Retrieve a space")
    @blp.response(200, SpaceObject)
    @documents_errors(blp, 404)
    def get(self, space_id):
        """A space you are a member of; any other is not found."""
        return json_response(services().spaces.space(_user(), space_id, param="space_id").to_api())

    @blp.doc(operationId="updateSpace", summary="Rename a space")
    @blp.arguments(SpaceUpdateRequest())
    @blp.response(200, SpaceObject)
    @documents_errors(blp, 403, 404, 413, 415)
    @writes(blp)
    def patch(self, body, space_id):
        """Admins only."""
        return _rename(body, space_id)

    @blp.doc(operationId="updateSpacePost", summary="Rename a space (OpenAI's POST convention)")
    @blp.arguments(SpaceUpdateRequest())
    @blp.response(200, SpaceObject)
    @documents_errors(blp, 403, 404, 413, 415)
    @writes(blp)
    def post(self, body, space_id):
        """The same as PATCH."""
        return _rename(body, space_id)

    @blp.doc(operationId="deleteSpace", summary="Delete a space and its memories")
    @blp.arguments(SpaceDeleteQuery(), location="query", as_kwargs=True)
    @blp.response(200, SpaceDeleted)
    @documents_errors(blp, 403, 404)
    @writes(blp)
    def delete(self, space_id, confirm):
        """Admins only, with `confirm=true`: the space, every memory in it and its feed are gone, for every
        member, at once. The deletion is an entry (`space.deleted`) in each of its admins' activity feed."""
        return json_response(services().spaces.delete(_user(), space_id, confirm=confirm == "true"))


def _rename(body: dict, space_id: str):
    return json_response(services().spaces.rename(_user(), space_id, body["name"]).to_api())


@blp.route("/<string:space_id>/members", parameters=[SPACE_ID_PARAM, USER_HEADER_PARAM])
class Members(MethodView):
    @blp.doc(operationId="listSpaceMembers", summary="List a space's members")
    @blp.response(200, MemberList)
    @documents_errors(blp, 404)
    def get(self, space_id):
        """Every member, with role and inject switch (any member may look)."""
        return _list(services().spaces.members(_user(), space_id), cursors=False)

    @blp.doc(operationId="addSpaceMember", summary="Add a member")
    @blp.arguments(MemberCreateRequest())
    @blp.response(200, MemberObject)
    @documents_errors(blp, 403, 404, 409, 413, 415)
    @writes(blp)
    def post(self, body, space_id):
        """Admins only. 409 `member_exists`, `space_full` (MEMORY_API_MAX_SPACE_MEMBERS) or `too_many_spaces`."""
        return json_response(services().spaces.add_member(_user(), space_id, body["user"], body["role"],
                                                          body["inject"]))


@blp.route("/<string:space_id>/members/<string:user>", parameters=[SPACE_ID_PARAM, MEMBER_PARAM, USER_HEADER_PARAM])
class MemberByUser(MethodView):
    @blp.doc(operationId="updateSpaceMember", summary="Change a member's role or inject switch")
    @blp.arguments(MemberUpdateRequest())
    @blp.response(200, MemberObject)
    @documents_errors(blp, 403, 404, 409, 413, 415)
    @writes(blp)
    def patch(self, body, space_id, user):
        """Admins change anyone's role; every member may switch `inject` on their own membership. 409
        `last_admin` if it would leave the space without an admin."""
        return json_response(services().spaces.update_member(_user(), space_id, user, role=body.get("role"),
                                                             inject=body.get("inject")))

    @blp.doc(operationId="removeSpaceMember", summary="Remove a member (or leave)")
    @blp.response(200, MemberDeleted)
    @documents_errors(blp, 403, 404, 409)
    @writes(blp)
    def delete(self, space_id, user):
        """Admins remove anyone; every member may remove themselves. 409 `last_admin` for the last admin
        (make another member admin first). From the next request on, they no longer see the space."""
        return json_response(services().spaces.remove_member(_user(), space_id, user))
