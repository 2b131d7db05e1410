"""HTTP plumbing shared by the blueprints: parsing, auth hook, JSON responses."""

from __future__ import annotations

import json
import logging
import re
from http import HTTPStatus
from typing import Any

import marshmallow as ma
from flask import current_app, g, request
from flask_smorest import Blueprint as SmorestBlueprint
from webargs.flaskparser import FlaskParser

from ..auth import USER_HEADER, Principal
from ..errors import InvalidRequest, UnsupportedMediaType
from ..idempotency import HEADER as IDEMPOTENCY_HEADER
from ..idempotency import Replay, fingerprint
from ..services import Services
from ..store.redis import UNAVAILABLE_ERRORS
from ..streams import StreamBody

log = logging.getLogger(__name__)

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


def authenticate_request():
    """before_request hook of every /v1 blueprint: who is calling, is the body JSON, and
    is this a retry of a request already answered (Idempotency-Key)?"""
    req = request._get_current_object()  # one proxy lookup, not one per attribute
    headers = req.headers
    g.principal = services().keys.authenticate(headers.get("Authorization"), headers.get(USER_HEADER))
    method = req.method
    if method in _BODY_METHODS:
        accepted = view_attribute("body_types")
        if (req.mimetype not in accepted) if accepted else not req.is_json:
            # A body we would not read: say so instead of "content is required".
            if req.content_length or req.mimetype:
                raise UnsupportedMediaType(
                    f"Unsupported Content-Type {req.mimetype or '(none)'!r}: send "
                    f"{' or '.join(accepted or ('application/json',))}.",
                    param="Content-Type",
                )
    if method in _IDEMPOTENT_METHODS and IDEMPOTENCY_HEADER in headers:
        return _begin_idempotency(req)
    return None


def view_attribute(name: str, default: Any = None) -> Any:
    """An attribute of the MethodView class handling this request (e.g. body_types), if any."""
    view = current_app.view_functions.get(request.endpoint or "")
    return getattr(getattr(view, "view_class", None), name, default)


# --- Idempotency-Key ---------------------------------------------------------------

_IDEMPOTENT_METHODS = frozenset(("POST", "PATCH", "DELETE"))


def _begin_idempotency(req):
    key = req.headers[IDEMPOTENCY_HEADER]
    request_fp = fingerprint(req.method, req.path, req.query_string.decode("latin-1"), req.get_data(cache=True))
    outcome = services().idempotency.begin(g.principal.user_id, key, request_fp)
    if isinstance(outcome, Replay):
        response = current_app.response_class(outcome.body, status=outcome.status, headers=outcome.headers)
        response.headers["Idempotent-Replayed"] = "true"
        return response
    g.idempotency = outcome
    return None


def idempotent_id(prefix: str) -> str | None:
    """The id a create under an Idempotency-Key must use (the same on a retry), or None."""
    reservation = g.get("idempotency")
    return f"{prefix}{reservation.nonce}" if reservation else None


def finish_idempotency(response):
    """after_request: store the answer of a request that held an Idempotency-Key."""
    reservation = g.pop("idempotency", None)
    if reservation is None:
        return response
    idempotency = services().idempotency
    status, headers = response.status_code, dict(response.headers)
    try:
        if response.is_streamed and status < 300:
            response.response = _RecordedStream(
                response.response,
                on_complete=lambda body: idempotency.finish(reservation, status, headers, body),
                on_abort=lambda: idempotency.abandon(reservation),
            )
        else:
            idempotency.finish(reservation, status, headers, response.get_data())
    except UNAVAILABLE_ERRORS:  # the reservation's lease runs out by itself
        log.warning("could not record the outcome of Idempotency-Key request %s", g.get("request_id"))
    return response


class _RecordedStream(StreamBody):
    """Pass a streamed body through; store it for replays only if it ran to a clean end."""

    def __init__(self, chunks, *, on_complete, on_abort) -> None:
        super().__init__(iter(chunks), cleanup=lambda: self._settle(False))
        self._seen: list[bytes] = []
        self._on_complete = on_complete
        self._on_abort = on_abort
        self._settled = False

    def __next__(self) -> bytes:
        try:
            chunk = super().__next__()
        except StopIteration:
            self._settle(not (self._seen and self._seen[-1].startswith(b'data: {"error"')))
            raise
        self._seen.append(chunk)
        return chunk

    def _settle(self, completed: bool) -> None:
        if self._settled:
            return
        self._settled = True
        try:
            self._on_complete(b"".join(self._seen)) if completed else self._on_abort()
        except UNAVAILABLE_ERRORS:
            log.warning("could not record the outcome of a streamed Idempotency-Key request")

# --- conditional requests (ETag) ------------------------------------------------------

_ETAG_RE = re.compile(r'"(\d{1,18})"')


def if_match_revisions() -> list[int] | None:
    """Revisions If-Match accepts (strong comparison: W/ tags never match); None: no condition."""
    header = request.headers.get("If-Match")
    if header is None or header.strip() == "*":  # "*": any current version (existence is checked)
        return None
    return [int(m.group(1)) for m in (_ETAG_RE.fullmatch(tag.strip()) for tag in header.split(",")) if m]


def not_modified(etag: str) -> bool:
    """If-None-Match names the current representation (weak comparison)."""
    header = request.headers.get("If-None-Match")
    if not header:
        return False
    if header.strip() == "*":
        return True
    return etag in (tag.strip().removeprefix("W/") for tag in header.split(","))


COMMON_ERRORS = (400, 401, 403, 429, 503)

IDEMPOTENCY_PARAM = {
    "in": "header",
    "name": "Idempotency-Key",
    "required": False,
    "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[\\x21-\\x7e]+$"},
    "description": (
        "Makes a retry safe: the first request with a key is answered and its answer stored for 24 h; "
        "a retry with the same key and the same request gets that answer again and changes nothing. "
        "The same key with a different request: 409 idempotency_key_reused."
    ),
}
IF_MATCH_PARAM = {
    "in": "header",
    "name": "If-Match",
    "required": False,
    "schema": {"type": "string"},
    "description": "Only if the memory is unchanged: its ETag from an earlier response (else 412).",
}
IF_NONE_MATCH_PARAM = {
    "in": "header",
    "name": "If-None-Match",
    "required": False,
    "schema": {"type": "string"},
    "description": "The ETag you hold: 304 Not Modified (no body) if the memory is unchanged.",
}
ETAG_HEADER_DOC = {"ETag": {"description": "Changes with every write of the memory.", "schema": {"type": "string"}}}

USER_HEADER_PARAM = {
    "in": "header",
    "name": USER_HEADER,
    "required": False,
    "schema": {"type": "string"},
    "description": "With a service key: the end user to act for. Not allowed with a user key.",
}


def documents_headers(*params: dict):
    """Document header parameters of an operation, next to (not instead of) its query parameters.

    Added where flask-smorest's @blp.arguments keeps its parameters: @blp.doc(parameters=...)
    would replace the query parameters that @blp.arguments documents.
    """

    def decorator(func):
        doc = getattr(func, "_apidoc", {})
        doc.setdefault("arguments", {}).setdefault("parameters", []).extend(params)
        func._apidoc = doc
        return func

    return decorator


def writes(blp: SmorestBlueprint, *extra_params: dict):
    """Document a write operation's headers: Idempotency-Key and any `extra_params` (If-Match)."""
    return documents_headers(IDEMPOTENCY_PARAM, *extra_params)


def documents_errors(blp: SmorestBlueprint, *statuses: int):
    """Document error responses (the envelope) for a view: the common ones plus `statuses`.

    Pure documentation (references to flask-smorest's per-status response
    components): unlike alt_response it adds no wrapper to the request path.
    """
    responses = {str(s): HTTPStatus(s).name for s in sorted(set(COMMON_ERRORS + statuses))}
    return blp.doc(responses=responses)
