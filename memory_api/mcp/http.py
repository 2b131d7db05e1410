"""The MCP server over streamable HTTP: stateless, JSON responses, behind API-key authentication."""

from __future__ import annotations

import json

import anyio

from ..errors import ApiError, NotFound, render_error
from ..services import Services
from ..services.auth import USER_HEADER
from .server import build_mcp_server


class ApiKeyMiddleware:
    """ASGI middleware for the HTTP transport: count the request against its key's rate limit, then
    refuse it without a valid API key.

    The same checks as REST (RateLimits.check, one budget per key shared with
    /v1; KeyService.authenticate, with its short cache); the tools then read the
    caller from the same headers. Refusals use REST's error envelope.
    """

    def __init__(self, app, services: Services) -> None:
        self._app = app
        self._keys = services.keys
        self._rate_limits = services.rate_limits

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        path = scope.get("path", "")
        if path.startswith("/.well-known/"):
            # We serve no OAuth or OpenID metadata: a 404 tells a client (the MCP Inspector) that this server
            # takes an API key, where a 401 would send it looking for an OAuth server.
            await _send_json(send, *render_error(NotFound(f"Unknown URL: {scope.get('method', 'GET')} {path}.",
                                                          code="not_found")))
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        client = scope.get("client")
        try:
            if self._rate_limits.enabled:
                await anyio.to_thread.run_sync(self._rate_limits.check, headers.get("authorization"),
                                               client[0] if client else None, path)
            await anyio.to_thread.run_sync(self._keys.authenticate, headers.get("authorization"),
                                           headers.get(USER_HEADER.lower()))
        except ApiError as err:  # StoreUnavailable included
            await _send_json(send, *render_error(err))
            return
        await self._app(scope, receive, send)


async def _send_json(send, status: int, body: dict, headers: dict[str, str]) -> None:
    data = json.dumps(body).encode()
    raw_headers = [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]
    raw_headers += [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": data})


def http_app(services: Services, *, host: str = "127.0.0.1"):
    """The streamable-HTTP ASGI app (stateless, JSON responses) behind API-key authentication."""
    server = build_mcp_server(services)
    return ApiKeyMiddleware(server.streamable_http_app(stateless_http=True, json_response=True, host=host), services)
