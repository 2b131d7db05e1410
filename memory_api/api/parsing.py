"""Request parsing and JSON responses shared by the blueprints (webargs with our strictness)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import IO, Any, ClassVar

import marshmallow as ma
from flask import Request, current_app, g, request
from flask_smorest import Blueprint as SmorestBlueprint
from webargs.flaskparser import FlaskParser

from ..errors import InvalidRequest, PayloadTooLarge
from ..models import Provenance
from ..services import Services
from ..services.auth import Principal

_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode

# The request itself, behind flask's `request` proxy: one proxy lookup, not one per attribute. flask types
# `request` as the Request it stands for, so a type checker does not see the proxy's _get_current_object.
current_request: Callable[[], Request] = request._get_current_object  # type: ignore[attr-defined]


def services() -> Services:
    return current_app.extensions["memory_api"]


def principal() -> Principal:
    return g.principal


def by_request(source: str = "api") -> Provenance:
    """Who writes through this request: its door and the API key that authenticated it."""
    return Provenance(source=source, actor=g.principal.key_id, author=g.principal.user_id)


def json_response(payload: Any, status: int = 200, headers: dict[str, str] | None = None):
    """A JSON response, serialised directly (the response schemas document it)."""
    return current_app.response_class(
        _encode(payload), status=status, headers=headers, mimetype="application/json"
    )


def request_body_file() -> IO[bytes]:
    """The request body as a file, read as it arrives (never whole into memory), within the body limit
    the request hook set. If a hook has read it whole already (an Idempotency-Key's fingerprint),
    werkzeug hands out those bytes instead of the spent stream."""
    return request._get_stream_for_parsing()


def request_body_bytes(req: Request) -> bytes:
    """The whole request body (read once, cached), or 413 if it is longer than the request's limit.

    werkzeug raises its 413 only when a read goes past the limit it was given (the hook sets it from
    the view's body setting); a body read whole stops *at* the limit instead, so a chunked body (no
    Content-Length for the hook to check up front) longer than the limit came back cut short, and was
    answered 400 invalid_json. One byte more from the server's own input stream tells a body that ends
    exactly at the limit from one that goes on."""
    data = req.get_data(cache=True)
    limit = req.max_content_length
    if req.content_length is None and limit is not None and len(data) >= limit and req.environ["wsgi.input"].read(1):
        raise PayloadTooLarge(f"The request body is larger than {limit} bytes.")
    return data


def view_attribute(name: str, default: Any = None) -> Any:
    """An attribute of the MethodView class handling this request (e.g. body_types), if any."""
    view = current_app.view_functions.get(request.endpoint or "")
    return getattr(getattr(view, "view_class", None), name, default)


class StrictParser(FlaskParser):
    """webargs parser: 400 (not 422) on bad input, unknown query parameters refused,
    a repeated single-valued query parameter refused, absurdly nested JSON refused."""

    DEFAULT_VALIDATION_STATUS = 400
    # A class setting, so a ClassVar (as ruff's RUF012 asks); webargs declares it without one, which mypy
    # then refuses to see overridden by a ClassVar.
    DEFAULT_UNKNOWN_BY_LOCATION: ClassVar[dict] = {  # type: ignore[misc]
        **FlaskParser.DEFAULT_UNKNOWN_BY_LOCATION, "query": ma.RAISE, "querystring": ma.RAISE}

    def load_querystring(self, req, schema):
        for name in req.args:
            field = schema.fields.get(name)
            if len(req.args.getlist(name)) > 1 and not isinstance(field, ma.fields.List):
                raise InvalidRequest(
                    f"Query parameter '{name}' was given more than once.", param=name, code="duplicate_parameter"
                )
        return super().load_querystring(req, schema)

    def _raw_load_json(self, req):
        request_body_bytes(req)  # 413 for a chunked body past the limit; webargs reads the cached bytes
        try:
            return super()._raw_load_json(req)
        except RecursionError:
            raise InvalidRequest("The JSON body is nested too deeply.", code="invalid_json") from None


class Blueprint(SmorestBlueprint):
    ARGUMENTS_PARSER = StrictParser()
