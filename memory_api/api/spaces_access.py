"""Whose memories a request works on: the caller's own, or a shared space's they may use.

Every memory endpoint goes through these two, so the membership check (services/spaces.py) is made
once per request, at the moment the request is served."""

from __future__ import annotations

from flask import request

from ..ids import SPACE_ID_PATTERN
from .parsing import principal, services

SPACE_QUERY_PARAM = {
    "in": "query",
    "name": "space",
    "required": False,
    "schema": {"type": "string", "pattern": SPACE_ID_PATTERN},
    "description": "The shared space holding the memory (optional: it is found among your own memories "
                   "and your spaces').",
}


def owner_of(space: object, need: str = "read", *, param: str = "space") -> str:
    """The caller's own memories (`space` None), or the space's if the caller may `need` it."""
    return services().spaces.owner(principal().user_id, space, need, param=param)


def owner_holding(memory_id: str, need: str = "read", *, deleted_too: bool = False) -> str:
    """The owner keeping `memory_id` among those the caller may reach: the space named in the query
    string, else wherever it is found (the caller's own memories first)."""
    return services().spaces.locate(principal().user_id, memory_id, need, space=request.args.get("space"),
                                    deleted_too=deleted_too)
