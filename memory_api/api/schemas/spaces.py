"""marshmallow schemas of the space endpoints (see common.py)."""

from __future__ import annotations

from typing import ClassVar

import marshmallow as ma
from marshmallow import fields, validate

from ...ids import SPACE_ID_PATTERN
from ...services.auth import USER_ID_PATTERN
from ...services.spaces import MAX_NAME_CHARS, NAME_PATTERN, ROLES
from .common import StrictBool, StrictSchema, constant, list_of

ROLE_DESCRIPTION = ("`reader`: its memories are searched and injected for them, they can read them; `writer`: "
                    "also create, update, delete and revert; `admin`: also manage members, rename and delete it.")


def name_field(required: bool) -> fields.String:
    return fields.String(required=required, metadata={"minLength": 1, "maxLength": MAX_NAME_CHARS,
                                                      "pattern": NAME_PATTERN,
                                                      "description": "The space's name, on one line."})


class SpaceCreateRequest(StrictSchema):
    name = name_field(True)


class SpaceUpdateRequest(StrictSchema):
    name = name_field(True)


class SpaceDeleteQuery(StrictSchema):
    confirm = fields.String(required=True, validate=validate.OneOf(["true"]), metadata={
        "description": "Must be `true`: deletes the space and every memory in it."})


class SpaceObject(ma.Schema):
    id = fields.String(required=True, metadata={"pattern": SPACE_ID_PATTERN})
    object = constant("space")
    name = fields.String(required=True)
    created_at = fields.Integer(required=True)
    created_by = fields.String(required=True, metadata={"description": "The user who created it."})
    user = fields.String(required=True, metadata={"description": (
        "You: the member this space is seen as (the key's user, or the user a service key acts for), whose "
        "`role` and `inject` these are.")})
    role = fields.String(required=True, metadata={"enum": list(ROLES), "description": "Your role in it. "
                                                  + ROLE_DESCRIPTION})
    inject = fields.Boolean(required=True, metadata={
        "description": "Whether its memories go into your chats when a request names no `memory.spaces`."})


SpaceList = list_of("SpaceList", SpaceObject)


class SpaceDeleted(ma.Schema):
    id = fields.String(required=True)
    object = constant("space.deleted")
    deleted = fields.Boolean(required=True)
    memories_deleted = fields.Integer(required=True)


class MemberCreateRequest(StrictSchema):
    user = fields.String(required=True, metadata={"pattern": USER_ID_PATTERN, "description": "The user to add."})
    role = fields.String(load_default="reader", metadata={"enum": list(ROLES), "default": "reader",
                                                          "description": ROLE_DESCRIPTION})
    inject = StrictBool(load_default=True, metadata={"default": True, "description": (
        "Whether the space's memories go into this member's chats when a request names no `memory.spaces` "
        "(the member may change it).")})


class MemberUpdateRequest(StrictSchema):
    class Meta(StrictSchema.Meta):
        json_schema_extra: ClassVar[dict] = {"minProperties": 1}  # something to change

    role = fields.String(metadata={"enum": list(ROLES), "description": "Admins only. " + ROLE_DESCRIPTION})
    inject = StrictBool(metadata={"description": "Any member may set their own."})


class MemberObject(ma.Schema):
    object = constant("space.member")
    space = fields.String(required=True, metadata={"pattern": SPACE_ID_PATTERN})
    user = fields.String(required=True)
    role = fields.String(required=True, metadata={"enum": list(ROLES)})
    inject = fields.Boolean(required=True)
    added_at = fields.Integer(required=True)


MemberList = list_of("SpaceMemberList", MemberObject, cursors=False)


class MemberDeleted(ma.Schema):
    object = constant("space.member.deleted")
    space = fields.String(required=True)
    user = fields.String(required=True)
    deleted = fields.Boolean(required=True)
