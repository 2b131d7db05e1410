"""Rate limits: one budget per API key, whichever door a request comes through.

Every /v1 endpoint and MCP over HTTP count against the same budget of a key
(MEMORY_API_RATE_LIMIT), identified by the key's id, so spelling the
Authorization header another way never opens a fresh budget. Optional extra
budgets cover a path and what is under it (MEMORY_API_RATE_LIMIT_PATHS).
Requests without a valid key count by their remote address. The counters are
moving windows in Redis, so every worker and every server agrees.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from typing import Any

from .. import metrics
from ..errors import RateLimited
from ..setting_values import parse_path_rate_limits, parse_rate_limits
from .auth import KeyService

log = logging.getLogger(__name__)

_EVERY_PATH = "*"  # the scope of the budget shared by all paths


class RateLimits:
    """Counts requests per caller and refuses those over a budget (429 rate_limit_error)."""

    def __init__(self, keys: KeyService, overall: str, per_path: str, storage: Callable[[], Any]) -> None:
        self._keys = keys
        self._overall = parse_rate_limits(overall)
        self._paths = parse_path_rate_limits(per_path)
        self._storage = storage  # built on first use: building the app connects to nothing
        self._limiter: Any = None
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return bool(self._overall or self._paths)

    def check(self, authorization: str | None, remote_addr: str | None, path: str) -> None:
        """Count one request; raise RateLimited (with Retry-After) when it is over a budget. A request
        with no valid key counts by its address (authentication refuses it afterwards)."""
        if not self.enabled:
            return
        key_id = self._keys.identify(authorization)
        caller = f"key:{key_id}" if key_id else f"ip:{remote_addr or '-'}"
        budgets = [(item, _EVERY_PATH) for item in self._overall]
        budgets += [(item, prefix) for prefix, items in self._paths
                    if path == prefix or path.startswith(prefix + "/") for item in items]
        from limits.errors import StorageError

        try:
            limiter = self._moving_window()
            for item, scope in budgets:
                if not limiter.hit(item, caller, scope):
                    reset = limiter.get_window_stats(item, caller, scope).reset_time
                    recorder = metrics.active()
                    if recorder is not None:
                        recorder.rate_limit_refused("requests")
                    raise _refusal(item, scope, key_id is not None, retry_after=max(1, math.ceil(reset - time.time())))
        except StorageError:
            # Redis is away: the request itself answers 503 store_unavailable; counting must not turn that
            # into another error.
            log.warning("rate limits not counted: Redis is unavailable")

    def _moving_window(self) -> Any:
        if self._limiter is None:
            with self._lock:
                if self._limiter is None:
                    from limits.strategies import MovingWindowRateLimiter

                    self._limiter = MovingWindowRateLimiter(self._storage())
        return self._limiter


def _refusal(item: Any, scope: str, by_key: bool, *, retry_after: int) -> RateLimited:
    where = "" if scope == _EVERY_PATH else f" on {scope}"
    return RateLimited(
        f"Rate limit exceeded for this {'API key' if by_key else 'address'} ({item}{where}); "
        f"retry after {retry_after} seconds.",
        retry_after=retry_after,
    )
