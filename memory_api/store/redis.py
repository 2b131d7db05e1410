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
import time
from typing import Any

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from .. import metrics
from ..errors import StoreUnavailable
from ..index import lua as index_lua
from . import api_key_lua, conversation_lua, idempotency_lua, lock_lua, memory_lua, query_lua, space_lua, stream_lua
from .capabilities import Capabilities, detect_capabilities
from .cluster_url import cluster_seeds
from .embedded import EmbeddedRedis
from .migrate import format_problem

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
    # No seed node of a Redis Cluster answers (its URL's shape is checked by Settings at start, so
    # at run time this means unreachable). Not cached: the next request tries the seeds again.
    redis.exceptions.RedisClusterException,
    redis.exceptions.MovedError,
    redis.exceptions.AskError,
    # A MULTI/EXEC read whose slot started migrating mid-transaction: EXEC aborts (EXECABORT).
    redis.exceptions.ExecAbortError,
)

# Every script constant of these modules; PRELUDE and *_LUA are fragments that scripts include.
_SCRIPTS = {
    name: source
    for module in (api_key_lua, conversation_lua, idempotency_lua, index_lua, memory_lua, query_lua, stream_lua,
                   lock_lua, space_lua)
    for name, source in vars(module).items()
    if name.isupper() and isinstance(source, str) and name != "PRELUDE" and not name.endswith("_LUA")
}


# Replies meaning "Redis cannot make writes durable right now", which it then refuses (PING too):
# MISCONF when it could not write its append-only file or snapshot (a full or failing disk; also
# inside a script's error, or a pipeline's), NOREPLICAS when too few replicas would take a write.
_PERSISTENCE_REFUSALS = ("MISCONF", "NOREPLICAS")


def _is_persistence_refusal(exc: BaseException) -> bool:
    return isinstance(exc, redis.exceptions.ResponseError) and any(
        refusal in str(exc) for refusal in _PERSISTENCE_REFUSALS)


def _unavailable(exc: BaseException) -> StoreUnavailable:
    if _is_persistence_refusal(exc):
        log.error("redis cannot save writes (is its disk full?): %s", exc)
        return StoreUnavailable("The memory store cannot save changes right now; retry later.")
    log.warning("redis unavailable: %s: %s", type(exc).__name__, exc)
    return StoreUnavailable()


# What redis-py raises (its cluster client's "no node reachable" is not a RedisError).
_REDIS_ERRORS = (redis.exceptions.RedisError, redis.exceptions.RedisClusterException)


def _translated(exc: BaseException) -> BaseException:
    """The domain error for a Redis error that means "unavailable" (or cannot save); others as they are."""
    if isinstance(exc, _UNAVAILABLE_ERRORS) or _is_persistence_refusal(exc):
        return _unavailable(exc)
    return exc


def _guard(fn, operation: str | None):
    """`fn` with Redis' unavailability as StoreUnavailable, and timed when metrics are on."""
    if inspect.isgeneratorfunction(fn):  # a scan: its errors are counted, its time is the caller's
        @functools.wraps(fn)
        def generator(*args, **kwargs):
            try:
                yield from fn(*args, **kwargs)
            except _REDIS_ERRORS as exc:
                _count_error(operation, exc)
                translated = _translated(exc)
                if translated is exc:
                    raise
                raise translated from exc
        return generator

    @functools.wraps(fn)
    def call(*args, **kwargs):
        recorder = metrics.active() if operation else None
        started = time.perf_counter() if recorder is not None else 0.0
        try:
            return fn(*args, **kwargs)
        except _REDIS_ERRORS as exc:
            if recorder is not None and operation:
                recorder.store_error(operation, exc)
            translated = _translated(exc)
            if translated is exc:
                raise
            raise translated from exc
        finally:
            if recorder is not None and operation:
                recorder.store_operation(operation, time.perf_counter() - started)
    return call


def _count_error(operation: str | None, exc: BaseException) -> None:
    recorder = metrics.active() if operation else None
    if recorder is not None and operation:
        recorder.store_error(operation, exc)


def raises_store_unavailable(cls):
    """Class decorator for the store's classes: a Redis that is away surfaces as the domain error
    StoreUnavailable from every public method, so no layer above imports redis-py's exceptions.
    With metrics on, each public method's time and failures are recorded under `Class.method`
    (except those named in the class's `_UNTIMED`, which make no round trip)."""
    untimed = getattr(cls, "_UNTIMED", ())
    for name, member in list(vars(cls).items()):
        if not name.startswith("_") and inspect.isfunction(member):
            setattr(cls, name, _guard(member, None if name in untimed else f"{cls.__name__}.{name}"))
    return cls


def confirms_persistence(method):
    """For a store method that writes (on a store holding its RedisStore as `_redis`): once Redis has
    answered, ask it whether it could append the write to its append-only file, and raise
    StoreUnavailable if not. Redis writes that file just before it sends a reply, but sends the reply
    even when that write failed (a full disk); only the next command hears MISCONF. Without this
    check, that one write would be acknowledged, and then lost if Redis stopped before the disk had
    room again."""
    @functools.wraps(method)
    def confirmed(self, *args, **kwargs):
        result = method(self, *args, **kwargs)
        self._redis.confirm_persisted()
        return result
    return confirmed


def connect(url: str, *, cluster: bool = False, timeout: float = 2.0) -> Any:
    """A redis-py client for `url`, failing fast when Redis is away.

    A cluster URL may name several seed nodes (``redis://a:7000,b:7000``); any one that
    answers is enough to find the cluster.

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
        from redis.cluster import ClusterNode, RedisCluster

        first, seeds = cluster_seeds(url)
        return RedisCluster.from_url(first, startup_nodes=[ClusterNode(h, p) for h, p in seeds[1:]], **options)
    return redis.Redis.from_url(url, **options)


@raises_store_unavailable
class RedisStore:
    """The process's Redis client and its registered Lua scripts."""

    _UNTIMED = frozenset(("script", "close"))  # a dict lookup, and a shutdown: no round trip to time

    def __init__(self, url: str | None, *, data_dir: str, cluster: bool = False, timeout: float = 2.0,
                 check_format: bool = True):
        self._url = url
        self._check_format = check_format  # off only for `memory-api migrate`
        self._data_dir = data_dir
        self._cluster = cluster
        self._timeout = timeout
        self._lock = threading.Lock()
        self._client: Any = None
        self._scripts: dict[str, Any] = {}
        self._capabilities: Capabilities | None = None
        self.embedded: EmbeddedRedis | None = None

    @classmethod
    def from_settings(cls, settings, *, check_format: bool = True) -> RedisStore:
        return cls(
            settings.redis_url,
            data_dir=settings.data_dir,
            cluster=settings.redis_cluster,
            timeout=settings.redis_timeout,
            check_format=check_format,
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
            if self.embedded is None:  # (attached already when an earlier try found the store unusable)
                self.embedded = EmbeddedRedis.attach(self._data_dir)
                atexit.register(self.close)
            url = self.embedded.url
        client = connect(url, cluster=self._cluster, timeout=self._timeout)
        if self._check_format:
            # Once per process: a store of an earlier format is never served (it would look empty).
            problem = format_problem(client)
            if problem is not None:
                client.close()
                raise StoreUnavailable(f"The memory store cannot be used yet: {problem}.")
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

    def confirm_persisted(self) -> None:
        """Raise StoreUnavailable if Redis has been failing to write its append-only file or snapshot
        (PING is refused then, with MISCONF); see confirms_persistence. A cluster client would PING
        every node, so there it is not asked."""
        if not self._cluster:
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
