"""The HTTP layer: flask-smorest Api, blueprints, request ids, access log."""

from __future__ import annotations

import logging
import re
import time
import uuid

from flask import Flask, g, request
from flask_smorest import Api

from ..errors import PayloadTooLarge
from . import chat, conversations, health, memory, memory_tools
from .errors import register_error_handlers
from .http import finish_idempotency, view_attribute
from .ratelimit import init_rate_limits
from .schemas import ErrorEnvelope, SchemaExtrasPlugin, property_names_attribute

access_log = logging.getLogger("memory_api.access")
_BODY_METHODS = frozenset(("POST", "PUT", "PATCH"))

API_VERSION = "1.0.0"
_REQUEST_ID_RE = re.compile(r"[A-Za-z0-9._:-]{1,128}")

SPEC_OPTIONS = {
    "info": {
        "description": (
            "Persistent, user-scoped memory for chat applications, with an OpenAI-style API: "
            "the same list objects, cursor pagination, ids and error envelope. "
            "Authenticate with `Authorization: Bearer <key>`; a service key names the end "
            "user in `X-Memory-User`."
        )
    },
    "components": {
        "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}},
    },
    "security": [{"bearerAuth": []}],
}


class MemoryApi(Api):
    """flask-smorest's Api with our error envelope documented for every error response.

    Error handlers are ours (api/errors.py), so flask-smorest's are not registered.
    """

    ERROR_SCHEMA = ErrorEnvelope

    def _register_error_handlers(self):
        register_error_handlers(self._app)


def init_api(app: Flask) -> MemoryApi:
    app.config.update(
        API_TITLE="memory-api",
        API_VERSION=API_VERSION,
        OPENAPI_VERSION="3.1.0",
        OPENAPI_URL_PREFIX="/",
        OPENAPI_JSON_PATH="openapi.json",
        API_SPEC_OPTIONS=SPEC_OPTIONS,
    )
    api = MemoryApi(app, spec_kwargs={"extra_plugins": [SchemaExtrasPlugin()]})
    api.ma_plugin.converter.add_attribute_function(property_names_attribute)
    api.register_blueprint(memory.blp)
    api.register_blueprint(memory_tools.blp)
    api.register_blueprint(chat.blp)
    api.register_blueprint(conversations.blp)
    api.register_blueprint(health.blp)
    _register_request_hooks(app)
    init_rate_limits(app, app.extensions["memory_api"])
    return api


def _register_request_hooks(app: Flask) -> None:
    settings = app.config["MEMORY_API_SETTINGS"]
    log_requests = settings.access_log

    @app.before_request
    def start_request():
        req, ctx = request._get_current_object(), g._get_current_object()
        ctx.started = time.perf_counter()
        incoming = req.headers.get("X-Request-Id", "")
        ctx.request_id = incoming if _REQUEST_ID_RE.fullmatch(incoming) else f"req_{uuid.uuid4().hex}"
        if req.method in _BODY_METHODS or req.content_length:
            max_body = settings.max_import_bytes if view_attribute("large_body") else settings.max_body_bytes
            req.max_content_length = max_body
            if req.content_length is not None and req.content_length > max_body:
                raise PayloadTooLarge(f"The request body is larger than {max_body} bytes.")

    app.after_request(finish_idempotency)

    @app.after_request
    def finish_request(response):
        ctx = g._get_current_object()
        request_id = ctx.get("request_id") or f"req_{uuid.uuid4().hex}"
        response.headers["x-request-id"] = request_id
        if log_requests and access_log.isEnabledFor(logging.INFO):
            req = request._get_current_object()
            principal = ctx.get("principal")
            access_log.info(
                "request_id=%s user=%s key=%s method=%s path=%s status=%s code=%s ms=%.1f",
                request_id,
                principal.user_id if principal else "-",
                principal.key_id if principal else "-",
                req.method,
                req.path,
                response.status_code,
                ctx.get("error_code") or "-",
                (time.perf_counter() - ctx.get("started", time.perf_counter())) * 1000,
            )
        return response
