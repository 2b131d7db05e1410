"""Prometheus metrics (prometheus-client), off unless MEMORY_API_METRICS is true.

Prometheus metrics belong to a process, not to an app: the layers that record
(the HTTP hooks, the store, the provider client, chat and responses) ask `active()` for the
process's `Metrics` and record nothing while it is None, so a service with
metrics off pays one global lookup per event and never imports
prometheus_client.

Under gunicorn, `memory-api serve` sets PROMETHEUS_MULTIPROC_DIR before any
metric exists: every worker then writes its figures to memory-mapped files in
that directory and a scrape of any worker adds them all up (`render`).
Only counters and histograms are used: they add up across workers without a
per-metric multiprocess mode.
"""

from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from prometheus_client import Histogram

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
# Labels whose values come from clients are bounded: a process keeps at most this many distinct models,
# and the rest count as "other", so a client inventing model names cannot grow the metrics without end.
MAX_MODELS = 50
_METHODS = frozenset(("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"))

_HTTP_BUCKETS = (0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
_REDIS_BUCKETS = (0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
_PROVIDER_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0)
_INJECTED_BUCKETS = (0, 1, 2, 5, 10, 20, 50, 100, 200, 500)
# The token kinds counted, and the `usage` fields that carry them (chat completions', then Responses').
_USAGE_FIELDS = (("prompt", ("prompt_tokens", "input_tokens")), ("completion", ("completion_tokens", "output_tokens")))

_lock = threading.Lock()
_active: Metrics | None = None


class Metrics:
    """The service's metrics, registered once per process in prometheus_client's default registry."""

    def __init__(self) -> None:
        from prometheus_client import Counter, Gauge, Histogram

        self.http_duration = Histogram(
            "memory_api_http_request_duration_seconds",
            "Time to answer a request (to the first byte of a streamed body), by route and status; "
            "its _count is the number of requests.",
            ("method", "route", "status"), buckets=_HTTP_BUCKETS)
        self.redis_duration = Histogram(
            "memory_api_redis_operation_duration_seconds",
            "Time of one store operation (one Redis round trip: a command, a script or a pipeline).",
            ("operation",), buckets=_REDIS_BUCKETS)
        self.redis_errors = Counter(
            "memory_api_redis_errors_total",
            "Store operations that failed because Redis was unreachable or not serving.",
            ("operation", "error"))
        self.provider_duration = Histogram(
            "memory_api_provider_request_duration_seconds",
            "Time of a call to the model provider: the whole answer (complete), or until the stream "
            "opened (stream).", ("model", "kind"), buckets=_PROVIDER_BUCKETS)
        self.provider_errors = Counter(
            "memory_api_provider_errors_total", "Failed calls to the model provider, by our error code.",
            ("model", "code"))
        self.provider_tokens = Counter(
            "memory_api_provider_tokens_total", "Tokens the model provider reported using (its `usage`; a "
            "response's input and output tokens count as prompt and completion).", ("model", "kind"))
        self.memories_injected = Histogram(
            "memory_api_chat_memories_injected", "Memories injected into one chat completion's prompt or one "
            "response's instructions.", buckets=_INJECTED_BUCKETS)
        self.rate_limited = Counter(
            "memory_api_rate_limited_requests_total", "Requests refused with 429 by a per-key limit: the "
            "request rate (requests) or the open streams (streams).", ("limit",))
        self.capture_jobs = Counter(
            "memory_api_capture_jobs_total", "Capture job attempts by outcome: done, retrying (the provider or "
            "Redis failed; tried again later) or failed (given up, or the model's answer was malformed). "
            "Counted by the capture workers `serve` runs.", ("outcome",))
        self.capture_operations = Counter(
            "memory_api_capture_operations_total", "What capture did with the model's operations: applied, "
            "suggested (the user wrote that memory) or skipped.", ("action", "status"))
        self.capture_queue_depth = Gauge(
            "memory_api_capture_queue_depth", "Capture jobs queued or in progress (read when scraped).",
            multiprocess_mode="mostrecent")
        self._redis_children: dict[str, Histogram] = {}
        self._models: set[str] = set()

    # --- recording ---------------------------------------------------------------------------

    def request(self, method: str, route: str, status: int, seconds: float) -> None:
        method = method if method in _METHODS else "other"
        self.http_duration.labels(method, route, str(status)).observe(seconds)

    def store_operation(self, operation: str, seconds: float) -> None:
        child = self._redis_children.get(operation)
        if child is None:  # labels() takes a lock; a store operation is the most frequent event
            child = self._redis_children[operation] = self.redis_duration.labels(operation)
        child.observe(seconds)

    def store_error(self, operation: str, error: BaseException) -> None:
        self.redis_errors.labels(operation, type(error).__name__).inc()

    def provider_call(self, model: object, kind: str, seconds: float) -> None:
        self.provider_duration.labels(self._model(model), kind).observe(seconds)

    def provider_error(self, model: object, code: str | None) -> None:
        self.provider_errors.labels(self._model(model), code or "unknown").inc()

    def provider_usage(self, model: object, usage: object) -> None:
        """Count the tokens of a provider's `usage` object (absent or malformed: nothing): chat's
        prompt/completion tokens, or the Responses API's input/output tokens under the same kinds, so
        one query adds up a model's tokens whichever endpoint spent them."""
        if not isinstance(usage, dict):
            return
        label = self._model(model)
        for kind, names in _USAGE_FIELDS:
            tokens = next((usage[name] for name in names if name in usage), None)
            if isinstance(tokens, int) and not isinstance(tokens, bool) and tokens > 0:
                self.provider_tokens.labels(label, kind).inc(tokens)

    def chat_injected(self, count: int) -> None:
        self.memories_injected.observe(count)

    def capture_job(self, outcome: str, results: list | None = None) -> None:
        """One attempt at a capture job ended: done (with what became of each operation), retrying, failed."""
        self.capture_jobs.labels(outcome).inc()
        for result in results or ():
            self.capture_operations.labels(result.operation.action, result.status).inc()

    def rate_limit_refused(self, limit: str) -> None:
        """A 429 of a per-key limit: `requests` (MEMORY_API_RATE_LIMIT) or `streams` (too many open)."""
        self.rate_limited.labels(limit).inc()

    def _model(self, model: object) -> str:
        name = model[:100] if isinstance(model, str) and model else "unknown"
        if name in self._models:
            return name
        with _lock:
            if len(self._models) >= MAX_MODELS:
                return "other"
            self._models.add(name)
        return name

    # --- exposition ---------------------------------------------------------------------------

    @staticmethod
    def render() -> tuple[bytes, str]:
        """The text exposition of every metric (all workers' under gunicorn) and its content type."""
        from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest

        if os.environ.get(MULTIPROC_ENV):
            from prometheus_client import multiprocess

            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)
            return generate_latest(registry), CONTENT_TYPE_LATEST
        return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


def enable() -> Metrics:
    """This process's metrics, created on first call (every later call returns the same)."""
    global _active
    with _lock:
        if _active is None:
            _active = Metrics()
        return _active


def active() -> Metrics | None:
    """The process's metrics if enabled, else None (then record nothing)."""
    return _active


def worker_exited(pid: int) -> None:
    """gunicorn's child_exit hook: drop a dead worker's live files (prometheus-client's bookkeeping)."""
    if os.environ.get(MULTIPROC_ENV):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid)
