"""HTTP plumbing shared by the blueprints: parsing, auth hook, JSON responses."""

from __future__ import annotations

import json
from http import HTTPStatus
from typing import Any

import marshmallow as ma
from flask import current_app, g, request
from flask_smorest import Blueprint as SmorestBlueprint
from webargs import core
from webargs.flaskparser import FlaskParser

from ..auth import USER_HEADER, Principal
from ..errors import InvalidRequest, UnsupportedMediaType
from ..services import Services

_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def services() -> Services:
    return current_app.extensions["memory_api"]


def principal() -> Principal:
    return g.principal


def json_response(payload: Any, status: int = 200, headers: dict[str, str] | None = None):
    """A JSON response, serialised directly (the response schemas document it)."""
    return current_app.response_class(
        _encode(payload), status=status, headers=headers, mimetype="application/json"
    )


class StrictParser(FlaskParser):
    """webargs parser: 400 (not 422) on bad input, unknown query parameters refused,
    a repeated single-valued query parameter refused, absurdly nested JSON refused."""

    DEFAULT_VALIDATION_STATUS = 400
    DEFAULT_UNKNOWN_BY_LOCATION = {**FlaskParser.DEFAULT_UNKNOWN_BY_LOCATION, "query": ma.RAISE,
                                   "querystring": ma.RAISE}

    def load_querystring(self, req, schema):
        for name in req.args:
            field = schema.fields.get(name)
            if len(req.args.getlist(name)) > 1 and not isinstance(field, ma.fields.List):
                raise InvalidRequest(
                    f"Query parameter '{name}' was given more than once.", param=name, code="duplicate_parameter"
                )
        return super().load_querystring(req, schema)

    def _raw_load_json(self, req):
        try:
            return super()._raw_load_json(req)
        except RecursionError:
            raise InvalidRequest("The JSON body is nested too deeply.", code="invalid_json") from None


class Blueprint(SmorestBlueprint):
    ARGUMENTS_PARSER = StrictParser()


_BODY_METHODS = frozenset(("POST", "PUT", "PATCH"))


def authenticate_request() -> None:
    """before_request hook of every /v1 blueprint: who is calling, and is the body JSON."""
    g.principal = services().keys.authenticate(
        request.headers.get("Authorization"), request.headers.get(USER_HEADER)
    )
    if request.method in _BODY_METHODS and not request.is_json:
        # A body we would not read as JSON: say so instead of "content is required".
        if request.content_length or request.mimetype:
            raise UnsupportedMediaType(
                f"Unsupported Content-Type {request.mimetype or '(none)'!r}: send application/json.",
                param="Content-Type",
            )


COMMON_ERRORS = (400, 401, 403, 429, 503)

USER_HEADER_PARAM = {
    "in": "header",
    "name": USER_HEADER,
    "required": False,
    "schema": {"type": "string"},
    "description": "With a service key: the end user to act for. Not allowed with a user key.",
}


def documents_errors(blp: SmorestBlueprint, *statuses: int):
    """Document error responses (the envelope) for a view: the common ones plus `statuses`.

    Pure documentation (references to flask-smorest's per-status response
    components): unlike alt_response it adds no wrapper to the request path.
    """
    responses = {str(s): HTTPStatus(s).name for s in sorted(set(COMMON_ERRORS + statuses))}
    return blp.doc(responses=responses)
