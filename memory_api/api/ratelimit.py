"""Rate limits on /v1 (services/rate_limits.py): checked before authentication, so a request with a bad
key is counted too (by its address). Over a budget: 429 `rate_limit_error` with Retry-After, in the usual
envelope. /healthz and /openapi.json are exempt.
"""

from __future__ import annotations

from flask import Flask

from ..services import Services
from .parsing import current_request


def init_rate_limits(app: Flask, services: Services) -> None:
    rate_limits = services.rate_limits
    if not rate_limits.enabled:
        return

    @app.before_request
    def check_rate_limit():
        req = current_request()
        # A preflight carries no key and costs no Redis: a 429 on it would only turn into an opaque
        # CORS failure in the browser, hiding the 429 the real request would get.
        if req.path.startswith("/v1/") and req.method != "OPTIONS":
            rate_limits.check(req.headers.get("Authorization"), req.remote_addr, req.path)
