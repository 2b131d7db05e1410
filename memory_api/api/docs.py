"""OpenAPI documentation helpers: header parameters and error responses of operations."""

from __future__ import annotations

from http import HTTPStatus

from flask_smorest import Blueprint as SmorestBlueprint

from ..services.auth import USER_HEADER
from .idempotency import HEADER as IDEMPOTENCY_HEADER

COMMON_ERRORS = (400, 401, 403, 429, 503)

IDEMPOTENCY_PARAM = {
    "in": "header",
    "name": IDEMPOTENCY_HEADER,
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
