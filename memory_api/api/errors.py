"""Flask error handlers: whatever went wrong, the client gets the OpenAI error envelope."""

from __future__ import annotations

import logging

from flask import Flask, g, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from ..errors import ApiError, InvalidRequest, ServerError, error_for_status, render_error
from .parsing import json_response
from .provider_headers import relayed_provider_headers

log = logging.getLogger("memory_api.errors")


def render(err: ApiError):
    """The one place an error becomes an HTTP response."""
    g.error_code = err.code
    status, body, headers = render_error(err)
    provider_headers = getattr(err, "provider_headers", None)  # a ProviderError's: its rate-limit state
    if provider_headers:
        headers = {**relayed_provider_headers(provider_headers), **headers}
    return json_response(body, status, headers)


def _first_message(messages) -> tuple[list[str], str]:
    """The path and text of the first message in a marshmallow error tree."""
    path: list[str] = []
    node = messages
    while isinstance(node, dict) and node:
        key, node = next(iter(node.items()))
        path.append(str(key))
    if isinstance(node, list) and node:
        node = node[0]
        if isinstance(node, dict):
            sub_path, text = _first_message(node)
            return path + sub_path, text
    return path, str(node)


def _param_path(field_path: list[str]) -> str | None:
    """'memory.max_words', 'messages[0]'; a Dict's user-chosen keys are not part of the name."""
    names: list[str] = []
    for i, part in enumerate(field_path):
        if part in ("_schema",):
            continue
        if i + 1 < len(field_path) and field_path[i + 1] in ("key", "value"):
            break  # `part` is a key of a Dict field's data
        if part in ("key", "value"):
            break
        if part.isdigit() and names:
            names[-1] += f"[{part}]"
        else:
            names.append(part)
    return ".".join(names) or None


def validation_error(messages: dict) -> InvalidRequest:
    """webargs' {"json": {"field": ["msg"]}} as our 400 naming the field."""
    location_path, text = _first_message(messages)
    location, field_path = (location_path[0], location_path[1:]) if location_path else ("json", [])
    param = _param_path(field_path)
    if param is None:
        if text == "Invalid JSON body.":
            return InvalidRequest("The request body is not valid JSON.", code="invalid_json")
        if location == "json" and text == "Invalid input type.":
            text = "The request body must be a JSON object."
        return InvalidRequest(text, code="invalid_request_body")
    where = "query parameter" if location in ("query", "querystring") else "field"
    if text == "Unknown field.":
        return InvalidRequest(f"Unrecognized {where} '{param}'.", param=param, code="unknown_parameter")
    return InvalidRequest(f"Invalid {where} '{param}': {text}", param=param, code="invalid_value")


def handle_http_exception(exc: HTTPException):
    data = getattr(exc, "data", None) or {}
    if "messages" in data:
        return render(validation_error(data["messages"]))
    status = exc.code or 500
    message = {
        404: f"Unknown URL: {request.method} {request.path}.",
        405: f"Method {request.method} is not allowed on {request.path}.",
        413: "The request body is too large.",
    }.get(status, exc.description or exc.name)
    err = error_for_status(status, message)
    if isinstance(exc, MethodNotAllowed) and exc.valid_methods:
        err.headers["Allow"] = ", ".join(sorted(exc.valid_methods))
    return render(err)


def handle_unexpected(exc: Exception):
    log.exception("unhandled error in request %s", g.get("request_id"))
    return render(ServerError("The server had an error while processing your request."))


def register_error_handlers(app: Flask) -> None:
    app.register_error_handler(ApiError, render)
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(Exception, handle_unexpected)
