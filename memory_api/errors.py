"""Typed errors raised by the services and the store, and the one function that renders them.

Every error answer of the service, whatever raised it (our services, the
store, Flask, werkzeug, webargs) and whichever door it leaves by (REST, MCP
over HTTP, the CLI), is rendered by `render_error()`, so clients always get
OpenAI's envelope: {"error": {"message", "type", "param", "code"}}.
"""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """An error with an HTTP status and the fields of OpenAI's error envelope."""

    status = 500
    type = "server_error"
    code: str | None = None

    def __init__(
        self,
        message: str,
        *,
        param: str | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
        retry_after: int | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        # Fields a client reads beside the envelope's four (e.g. existing_id of a duplicate).
        self.extra = dict(extra or {})
        if code is not None:
            self.code = code
        self.headers = dict(headers or {})
        if retry_after is not None:  # seconds until a retry may succeed
            self.headers["Retry-After"] = str(retry_after)

    def body(self) -> dict[str, Any]:
        body = error_body(self.message, type=self.type, param=self.param, code=self.code)
        body["error"].update(self.extra)
        return body


class InvalidRequest(ApiError):
    status = 400
    type = "invalid_request_error"


class AuthenticationFailed(ApiError):
    """401 with the Bearer challenge HTTP asks of every 401 (RFC 6750): without it, MCP clients take a
    wrong key for an OAuth server they should discover. `key_given`: a key was sent but is not valid."""

    status = 401
    type = "authentication_error"
    code = "invalid_api_key"

    def __init__(self, message: str, *, key_given: bool = False, **kwargs) -> None:
        super().__init__(message, **kwargs)
        challenge = 'Bearer realm="memory-api"'
        if key_given:
            challenge += ', error="invalid_token", error_description="Incorrect API key provided."'
        self.headers.setdefault("WWW-Authenticate", challenge)


class PermissionDenied(ApiError):
    status = 403
    type = "permission_error"


class NotFound(ApiError):
    status = 404
    type = "not_found_error"


class MethodNotAllowed(ApiError):
    status = 405
    type = "invalid_request_error"
    code = "method_not_allowed"


class Conflict(ApiError):
    status = 409
    type = "conflict_error"


class PreconditionFailed(ApiError):
    status = 412
    type = "invalid_request_error"
    code = "precondition_failed"


class PayloadTooLarge(ApiError):
    status = 413
    type = "invalid_request_error"
    code = "request_too_large"


class UnsupportedMediaType(ApiError):
    status = 415
    type = "invalid_request_error"
    code = "unsupported_media_type"


class RateLimited(ApiError):
    status = 429
    type = "rate_limit_error"
    code = "rate_limit_exceeded"


class ServerError(ApiError):
    status = 500
    type = "server_error"


class BadGateway(ApiError):
    status = 502
    type = "upstream_error"
    # Set only on the 502 that passes on a provider's own 5xx (services/upstream.py): the provider's response
    # headers and status, as a ProviderError has them (api/errors.py reads the headers with getattr).
    provider_headers: dict[str, str]
    provider_status: int


class ProviderError(ApiError):
    """An error the model provider answered, passed on with its own type, code, param and message
    (clients tell a context overflow from a quota error by them); `provider_headers` are the
    provider's response headers, for the HTTP layer to relay the ones a client may read."""

    def __init__(self, status: int, message: str, *, type: str, param: str | None = None,
                 code: str | None = None, headers: dict[str, str] | None = None,
                 provider_headers: dict[str, str] | None = None, provider_status: int | None = None) -> None:
        super().__init__(message, param=param, code=code, headers=headers)
        self.status = status
        self.provider_status = provider_status
        self.type = type
        self.provider_headers = dict(provider_headers or {})


class NotImplementedByProvider(ApiError):
    """The configured model provider lacks an endpoint this service would relay to."""

    status = 501
    type = "invalid_request_error"
    code = "unsupported_by_provider"

    def __init__(self, message: str, **kwargs) -> None:
        super().__init__(message, **kwargs)
        self.headers.setdefault("x-should-retry", "false")  # 501 is a 5xx: the openai SDK would retry it


class ServiceUnavailable(ApiError):
    status = 503
    type = "service_unavailable_error"


class StoreUnavailable(ServiceUnavailable):
    """Redis is not reachable or not serving right now (raised by the store, never a 500)."""

    code = "store_unavailable"

    def __init__(self, message: str = "The memory store is unavailable; retry shortly.", **kwargs) -> None:
        kwargs.setdefault("retry_after", 1)
        super().__init__(message, **kwargs)


class GatewayTimeout(ApiError):
    status = 504
    type = "upstream_error"
    code = "upstream_timeout"


def render_error(err: ApiError) -> tuple[int, dict[str, Any], dict[str, str]]:
    """(status, envelope, headers) of an error: what every door sends for it."""
    return err.status, err.body(), dict(err.headers)


def error_body(
    message: str,
    *,
    type: str,
    param: str | None = None,
    code: str | None = None,
) -> dict[str, Any]:
    """The error envelope, as OpenAI's API returns it."""
    return {"error": {"message": message, "type": type, "param": param, "code": code}}


# Error types for statuses that reach us from werkzeug rather than from our own code.
_TYPE_BY_STATUS = {
    400: ("invalid_request_error", None),
    401: ("authentication_error", "invalid_api_key"),
    403: ("permission_error", None),
    404: ("not_found_error", "not_found"),
    405: ("invalid_request_error", "method_not_allowed"),
    406: ("invalid_request_error", "not_acceptable"),
    409: ("conflict_error", None),
    411: ("invalid_request_error", "length_required"),
    412: ("invalid_request_error", "precondition_failed"),
    413: ("invalid_request_error", "request_too_large"),
    414: ("invalid_request_error", "uri_too_long"),
    415: ("invalid_request_error", "unsupported_media_type"),
    416: ("invalid_request_error", None),
    428: ("invalid_request_error", "precondition_required"),
    429: ("rate_limit_error", "rate_limit_exceeded"),
    431: ("invalid_request_error", "headers_too_large"),
}


def error_for_status(status: int, message: str) -> ApiError:
    """An ApiError for a bare HTTP status (unknown route, wrong method, ...)."""
    err_type, code = _TYPE_BY_STATUS.get(
        status, ("server_error", None) if status >= 500 else ("invalid_request_error", None)
    )
    err = ApiError(message, code=code)
    err.status = status
    err.type = err_type
    return err
