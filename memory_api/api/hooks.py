"""Request hooks: request ids, body limits, the caller, the body's media type, Idempotency-Key, the access log."""

from __future__ import annotations

import logging
import re
import time
import uuid
from urllib.parse import unquote_to_bytes

from flask import Blueprint, Flask, Request, g, request

from .. import metrics
from ..errors import InvalidRequest, PayloadTooLarge, UnsupportedMediaType
from ..services.auth import USER_HEADER
from .idempotency import begin_idempotency, finish_idempotency
from .parsing import current_request, services, view_attribute

access_log = logging.getLogger("memory_api.access")
_BODY_METHODS = frozenset(("POST", "PUT", "PATCH"))
_REQUEST_ID_RE = re.compile(r"[A-Za-z0-9._:-]{1,128}")
_UTF8_CHARSETS = frozenset(("utf-8", "utf8"))


def check_query_encoding(query_string: bytes) -> None:
    """400 for a query parameter that is not UTF-8 once percent-decoded. werkzeug would read it with
    U+FFFD in place of the bad bytes, and a search for that would quietly find nothing."""
    if query_string.isascii() and b"%" not in query_string:
        return
    for pair in query_string.split(b"&"):
        name, _, value = pair.partition(b"=")
        try:
            for part in (name, value):
                unquote_to_bytes(part.replace(b"+", b" ")).decode("utf-8")
        except UnicodeDecodeError:
            shown = unquote_to_bytes(name).decode("utf-8", "replace")
            raise InvalidRequest(f"Query parameter '{shown}' is not valid UTF-8 (once percent-decoded).",
                                 param=shown, code="invalid_encoding") from None


def check_body_charset(req) -> None:
    """415 for a body declared in a charset other than UTF-8: JSON (RFC 8259) and JSON Lines are UTF-8,
    and reading latin-1 bytes as UTF-8 would store other characters than the client sent."""
    charset = req.mimetype_params.get("charset")
    if charset is not None and charset.strip().lower() not in _UTF8_CHARSETS:
        raise UnsupportedMediaType(
            f"Unsupported charset {charset!r}: send the body as UTF-8 (charset=utf-8, or no charset).",
            param="Content-Type",
        )


def authenticate_caller() -> None:
    """before_request hook of the /v1 blueprints: who is calling (`g.principal`), from the API key and,
    with a service key, X-Memory-User (401 or 403 otherwise)."""
    headers = request.headers
    g.principal = services().keys.authenticate(headers.get("Authorization"), headers.get(USER_HEADER))


def check_body_media_type() -> None:
    """before_request hook of the /v1 blueprints: 415 for a body the endpoint would not read (JSON, or
    its view's `body_types`), or one declared in a charset other than UTF-8."""
    req = current_request()  # one proxy lookup, not one per attribute
    if req.method not in _BODY_METHODS:
        return
    accepted = view_attribute("body_types")
    unread = (req.mimetype not in accepted) if accepted else not req.is_json
    if unread and (req.content_length or req.mimetype):
        # A body we would not read: say so instead of "content is required".
        raise UnsupportedMediaType(
            f"Unsupported Content-Type {req.mimetype or '(none)'!r}: send "
            f"{' or '.join(accepted or ('application/json',))}.",
            param="Content-Type",
        )
    check_body_charset(req)


def register_v1_hooks(blp: Blueprint) -> None:
    """The before_request hooks of a /v1 blueprint, in the order they must run: who is calling (a 401
    comes before anything else), whether the body is one the endpoint reads (415), and whether the
    request retries one this caller already made (Idempotency-Key: a replay, or the key reserved)."""
    blp.before_request(authenticate_caller)
    blp.before_request(check_body_media_type)
    blp.before_request(begin_idempotency)


def body_limit_setting(req: Request) -> str:
    """The setting that bounds this request's body: a view may name one (import and chat take large bodies),
    and one per media type (an import as one JSON object is parsed whole, JSON Lines a chunk at a time)."""
    by_type = view_attribute("max_body_setting_by_type") or {}
    return by_type.get(req.mimetype) or view_attribute("max_body_setting") or "max_body_bytes"


def register_request_hooks(app: Flask) -> None:
    """Request ids and body limits before every request; idempotency and the access log after."""
    settings = app.config["MEMORY_API_SETTINGS"]
    log_requests = settings.access_log
    json_logs = settings.log_format == "json"

    @app.before_request
    def start_request():
        req, ctx = current_request(), g._get_current_object()
        ctx.started = time.perf_counter()
        incoming = req.headers.get("X-Request-Id", "")
        ctx.request_id = incoming if _REQUEST_ID_RE.fullmatch(incoming) else f"req_{uuid.uuid4().hex}"
        check_query_encoding(req.query_string)
        if req.method in _BODY_METHODS or req.content_length:
            max_body = getattr(settings, body_limit_setting(req))
            req.max_content_length = max_body
            if req.content_length is not None and req.content_length > max_body:
                raise PayloadTooLarge(f"The request body is larger than {max_body} bytes.")

    app.after_request(finish_idempotency)

    @app.after_request
    def finish_request(response):
        ctx = g._get_current_object()
        request_id = ctx.get("request_id") or f"req_{uuid.uuid4().hex}"
        response.headers["x-request-id"] = request_id
        recorder = metrics.active()
        if recorder is not None:
            req = current_request()
            rule = req.url_rule
            recorder.request(req.method, rule.rule if rule is not None else "(unmatched)", response.status_code,
                             time.perf_counter() - ctx.get("started", time.perf_counter()))
        if log_requests and access_log.isEnabledFor(logging.INFO):
            req = current_request()
            principal = ctx.get("principal")
            user, key_id = (principal.user_id, principal.key_id) if principal else ("-", "-")
            code = ctx.get("error_code") or "-"
            ms = round((time.perf_counter() - ctx.get("started", time.perf_counter())) * 1000, 1)
            # The path, never the query string (a search's words).
            if json_logs:  # each field a key of its own
                access_log.info("%s %s %s", req.method, req.path, response.status_code, extra={"fields": {
                    "request_id": request_id, "user": user, "key_id": key_id, "method": req.method,
                    "route": req.url_rule.rule if req.url_rule is not None else "(unmatched)", "path": req.path,
                    "status": response.status_code, "code": code, "duration_ms": ms}})
            else:
                access_log.info("request_id=%s user=%s key=%s method=%s path=%s status=%s code=%s ms=%.1f",
                                request_id, user, key_id, req.method, req.path, response.status_code, code, ms)
        return response
