"""Connection setup: the configured Redis (or Redis Cluster), or the embedded one.

`RedisStore` connects lazily, on first use, so building the app (for example to
write openapi.yaml) never starts or needs a Redis.
"""

from __future__ import annotations

import atexit
import functools
import inspect
import logging
import threading
from typing import Any

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from ..errors import StoreUnavailable
from . import api_key_lua, conversation_lua, idempotency_lua, memory_lua, query_lua, stream_lua
from .capabilities import Capabilities, detect_capabilities
from .embedded import EmbeddedRedis

log = logging.getLogger("memory_api.store")

# Errors meaning "Redis is not reachable or not serving right now": StoreUnavailable (503).
_UNAVAILABLE_ERRORS: tuple[type[BaseException], ...] = (
    redis.exceptions.ConnectionError,  # includes BusyLoadingError
    redis.exceptions.TimeoutError,
    redis.exceptions.ReadOnlyError,
    redis.exceptions.ClusterDownError,
    redis.exceptions.TryAgainError,
    redis.exceptions.MasterDownError,
    # A Redis Cluster moving slots or failing over: redis-py gives up after its retries with these.
    redis.exceptions.ClusterError,
    redis.exceptions.MovedError,
    redis.exceptions.AskError,
)

_SCRIPTS = {
    name: source
    for module in (api_key_lua, conversation_lua, idempotency_lua, memory_lua, query_lua, stream_lua)
    for name, source in vars(module).items()
    if name.isupper() and isinstance(source, str) and name != "PRELUDE"
}


def _unavailable(exc: Exception) -> StoreUnavailable:
    log.warning("redis unavailable: %s: %s", type(exc).__name__, exc)
    return StoreUnavailable()


def _guard(fn):
    if inspect.isgeneratorfunction(fn):
        @functools.wraps(fn)
        def generator(*args, **kwargs):
            try:
                yield from fn(*args, **kwargs)
            except _UNAVAILABLE_ERRORS as exc:
                raise _unavailable(exc) from exc
        return generator

    @functools.wraps(fn)
    def call(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except _UNAVAILABLE_ERRORS as exc:
            raise _unavailable(exc) from exc
    return call


def raises_store_unavailable(cls):
    """Class decorator for the store's classes: a Redis that is away surfaces as the domain error
    StoreUnavailable from every public method, so no layer above imports redis-py's exceptions."""
    for name, member in list(vars(cls).items()):
        if not name.startswith("_") and inspect.isfunction(member):
            setattr(cls, name, _guard(member))
    return cls


def connect(url: str, *, cluster: bool = False, timeout: float = 2.0) -> Any:
    """A redis-py client for `url`, failing fast when Redis is away.

    One immediate retry covers a pooled connection that died with a Redis
    restart; beyond that a request fails within `timeout` and is answered 503.
    """
    options = dict(
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        retry=Retry(NoBackoff(), 1),
        health_check_interval=30,
    )
    if cluster:
        from redis.cluster import RedisCluster

        return RedisCluster.from_url(url, **options)
    return redis.Redis.from_url(url, **options)


@raises_store_unavailable
class RedisStore:
    """The process's Redis client and its registered Lua scripts."""

    def __init__(self, url: str | None, *, data_dir: str, cluster: bool = False, timeout: float = 2.0):
        self._url = url
        self._data_dir = data_dir
        self._cluster = cluster
        self._timeout = timeout
        self._lock = threading.Lock()
        self._client: Any = None
        self._scripts: dict[str, Any] = {}
        self._capabilities: Capabilities | None = None
        self.embedded: EmbeddedRedis | None = None

    @classmethod
    def from_settings(cls, settings) -> "RedisStore":
        return cls(
            settings.redis_url,
            data_dir=settings.data_dir,
            cluster=settings.redis_cluster,
            timeout=settings.redis_timeout,
        )

    @property
    def client(self) -> Any:
        client = self._client
        if client is None:
            with self._lock:
                if self._client is None:
                    self._client = self._open()
                client = self._client
        return client

    def _open(self) -> Any:
        url = self._url
        if not url:
            self.embedded = EmbeddedRedis.attach(self._data_dir)
            atexit.register(self.close)
            url = self.embedded.url
        client = connect(url, cluster=self._cluster, timeout=self._timeout)
        self._scripts = {name: client.register_script(src) for name, src in _SCRIPTS.items()}
        return client

    @property
    def url(self) -> str:
        """The URL of the Redis in use (attaching to the embedded one if that is it)."""
        self.client  # noqa: B018
        return self.embedded.url if self.embedded else self._url  # type: ignore[return-value]

    @property
    def cluster(self) -> bool:
        return self._cluster

    def capabilities(self) -> Capabilities:
        """What this Redis can do (vector sets need Redis >= 8), asked once per process."""
        if self._capabilities is None:
            self._capabilities = detect_capabilities(self.client)
        return self._capabilities

    def ping(self) -> None:
        """Raise StoreUnavailable unless Redis answers (the health check)."""
        self.client.ping()

    def script(self, name: str):
        """A registered Lua script (store/*_lua.py), by its constant's name."""
        self.client  # noqa: B018 - connect (and register) on first use
        return self._scripts[name]

    def close(self) -> None:
        with self._lock:
            client, self._client = self._client, None
            if client is not None:
                client.close()
            embedded, self.embedded = self.embedded, None
        if embedded is not None:
            embedded.release()
