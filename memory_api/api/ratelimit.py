"""Rate limits per API key (flask-limiter), with their counters in Redis so all workers agree.

Off unless MEMORY_API_RATE_LIMIT is set. The key is the API key itself (its
hash; the remote address for requests without one), so a service key acting
for many users shares one budget. Over the limit: 429 `rate_limit_error` with
Retry-After, in the usual envelope. /healthz and /openapi.json are exempt.
"""

from __future__ import annotations

import hashlib

from flask import Flask, request

from ..services import Services
from ..store.keys import rate_limit_prefix


def _limit_key() -> str:
    authorization = request.headers.get("Authorization", "")
    if authorization:
        return "key:" + hashlib.sha256(authorization.encode("utf-8", "surrogateescape")).hexdigest()[:24]
    return f"ip:{request.remote_addr}"


def _storage_uri(url: str, cluster: bool) -> str:
    """The `limits` library's spelling of our Redis URL."""
    if url.startswith("unix://"):
        return "redis+unix://" + url[len("unix://"):]
    if cluster:
        return "redis+cluster://" + url.split("://", 1)[1]
    return url


def init_rate_limits(app: Flask, services: Services):
    limit = services.settings.rate_limit.strip()
    if not limit:
        return None
    from flask_limiter import Limiter

    return Limiter(
        key_func=_limit_key,
        app=app,
        default_limits=[limit],
        default_limits_exempt_when=lambda: not request.path.startswith("/v1/"),
        storage_uri=_storage_uri(services.redis.url, services.redis.cluster),
        strategy="moving-window",
        key_prefix=rate_limit_prefix(),
        headers_enabled=True,
        # If Redis is away the request fails with 503 on its own; the limiter must not turn it into a 500.
        swallow_errors=True,
    )
