"""CORS (flask-cors): browser pages on the origins in MEMORY_API_CORS_ORIGINS may call the API.

Off by default: with no origins configured nothing is registered and browsers keep their same-origin
rule. The API authenticates with a bearer token, never a cookie, so no credentials mode is offered: a
page must hold a key to do anything, and a CORS header only lets a page read what its key may read.
"""

from __future__ import annotations

import re

from flask import Flask
from flask_cors import CORS

from ..setting_values import parse_cors_origins
from .parsing import current_request

# What a browser page may send besides the CORS-safelisted headers (preflight's Allow-Headers).
ALLOWED_REQUEST_HEADERS = ("Authorization", "Content-Type", "Idempotency-Key", "If-Match", "If-None-Match",
                           "X-Memory-User", "X-Request-Id")
# What a page may read besides the safelisted Content-Type, Cache-Control, ...: a browser hides every
# other response header unless it is listed. tests/test_cors.py checks every x-memory-* header the code
# sends is here.
EXPOSED_RESPONSE_HEADERS = (
    "ETag", "x-request-id", "Retry-After", "Idempotent-Replayed", "x-conversation-id",
    "x-memory-injected-count", "x-memory-injected-ids", "x-memory-word-count", "x-memory-token-count",
    "x-memory-omitted-count", "x-memory-capture-job", "x-upstream-request-id", "x-should-retry",
)
# The routes a browser client calls; the console (same origin) and /metrics need no CORS.
CORS_PATHS = re.compile(r"/(v1/.*|healthz|openapi\.json)\Z")
PREFLIGHT_MAX_AGE_SECONDS = 600


def init_cors(app: Flask, origins_setting: str) -> None:
    """Answer CORS requests from the configured origins (nothing at all when there are none)."""
    origins = parse_cors_origins(origins_setting)
    if not origins:
        return
    # Each literal origin as an anchored, escaped pattern: flask-cors would read a '[' (an IPv6 host)
    # as a regular expression, and with patterns it always sends `Vary: Origin`, so a cache never hands
    # one origin's answer to another.
    patterns = ["*" if o == "*" else re.compile(re.escape(o.lower()) + r"\Z", re.IGNORECASE) for o in origins]

    @app.before_request
    def answer_preflight():
        # Answered before authentication (a preflight carries no key), rate limits and routing: a page
        # can then read the envelope of the real request's 401, 404 or 405 instead of a bare CORS failure.
        # flask-cors adds the Access-Control-* headers, for an allowed origin only.
        req = current_request()
        if (req.method == "OPTIONS" and "Access-Control-Request-Method" in req.headers
                and CORS_PATHS.match(req.path)):
            answer = app.response_class(status=204)
            del answer.headers["Content-Type"]  # no body
            return answer
        return None

    CORS(app, resources={CORS_PATHS: {"origins": patterns}},
         allow_headers=list(ALLOWED_REQUEST_HEADERS), expose_headers=list(EXPOSED_RESPONSE_HEADERS),
         methods=["GET", "HEAD", "POST", "PATCH", "DELETE", "OPTIONS"], max_age=PREFLIGHT_MAX_AGE_SECONDS,
         supports_credentials=False, vary_header=True)
