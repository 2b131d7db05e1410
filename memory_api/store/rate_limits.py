"""Where rate-limit counters live: the `limits` library's moving windows, in our Redis."""

from __future__ import annotations

from typing import Any

from . import keys
from .redis import RedisStore


def _storage_uri(url: str, cluster: bool) -> str:
    """The `limits` library's spelling of our Redis URL."""
    if url.startswith("unix://"):
        return "redis+unix://" + url[len("unix://"):]
    if cluster:
        return "redis+cluster://" + url.split("://", 1)[1]
    return url


def rate_limit_storage(redis_store: RedisStore) -> Any:
    """A `limits` storage on the Redis in use (attaching to the embedded one if that is it). Its errors
    are wrapped as limits.errors.StorageError, so a caller can tell "Redis away" from a refusal."""
    from limits.storage import storage_from_string

    return storage_from_string(_storage_uri(redis_store.url, redis_store.cluster),
                               key_prefix=keys.rate_limit_prefix(), wrap_exceptions=True)
