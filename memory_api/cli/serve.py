"""`memory-api serve`: the app under gunicorn, with the embedded Redis owned by the master.

The gunicorn master attaches to (or starts) the embedded Redis once, before it
forks workers, and hands every worker the socket's URL: one Redis per server,
never one per worker. While it runs, a supervisor thread in the master restarts
that Redis if it dies (store/supervisor.py). On SIGTERM gunicorn lets in-flight requests finish
(MEMORY_API_GRACEFUL_TIMEOUT), then the master leaves the embedded Redis,
which, if nothing else uses it, is shut down with its append-only file synced.
"""

from __future__ import annotations

import os
import socket
import sys
from collections.abc import Callable

import click
from gunicorn.app.base import BaseApplication

from .. import create_app
from ..config import Settings
from ..errors import ApiError
from ..logs import gunicorn_log_config
from . import main, settings_from_env, store_in_use
from .serve_metrics import prepare_multiprocess_metrics, remove_multiprocess_metrics


class GunicornServer(BaseApplication):
    def __init__(self, app_factory: Callable[[], object], options: dict) -> None:
        self._factory = app_factory
        self._options = options
        super().__init__()

    def load_config(self) -> None:
        for name, value in self._options.items():
            if name in self.cfg.settings:  # older gunicorns lack some (control_socket_disable)
                self.cfg.set(name, value)

    def load(self):
        return self._factory()


def worker_class_name(settings: Settings) -> str:
    """The gunicorn worker class `serve` runs (one of gunicorn_workers.py's JSON-error workers)."""
    if settings.worker_class == "gevent":
        name = "JsonErrorsGeventWorker"
    else:
        name = "JsonErrorsThreadWorker" if settings.threads > 1 else "JsonErrorsSyncWorker"
    return f"{__package__}.gunicorn_workers.{name}"


def gunicorn_options(settings: Settings) -> dict:
    gevent = settings.worker_class == "gevent"
    return {
        "bind": f"{settings.host}:{settings.port}",
        "workers": settings.workers,
        "threads": settings.threads,
        "worker_connections": settings.worker_connections,
        "worker_class": worker_class_name(settings),
        "graceful_timeout": settings.graceful_timeout,
        "timeout": 120,
        "keepalive": 5,
        # The longest request line gunicorn allows (its default is 4094): long search queries fit in a GET;
        # longer ones go in POST /v1/memory/search's body.
        "limit_request_line": 8190,
        # gthread: load the app (and tiktoken's vocabulary) once in the master; workers share it.
        # gevent: each worker loads it after monkey-patching, so the locks and sockets the app
        # makes are gevent's (a plain lock made in the master would block a whole worker's hub).
        "preload_app": not gevent,
        "accesslog": None,  # memory_api.access logs each request with its request id
        "errorlog": "-",
        "loglevel": settings.log_level.lower(),
        "logconfig_dict": gunicorn_log_config(settings.log_level, settings.log_format),  # {}: gunicorn's own
        "proc_name": "memory-api",
        # gunicorn's control socket lives in $HOME and would clash between servers.
        "control_socket_disable": True,
        # Each worker loads its own embedding model (an onnxruntime session must not cross a fork), before
        # its first request rather than during it.
        "post_worker_init": _warm_up_worker,
    }


def _warm_up_worker(worker) -> None:
    services = getattr(worker.wsgi, "extensions", {}).get("memory_api")
    if services is not None:
        services.warm_up()


def cannot_listen(host: str, port: int) -> str | None:
    """Why `host:port` cannot be listened on (None if it can). gunicorn would retry a busy port five times,
    a second apart, and only then give up: checked first, a busy port is said at once."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM,
                                                             flags=socket.AI_PASSIVE)[0]
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as gunicorn binds
            probe.bind(address)
    except OSError as exc:
        return f"cannot listen on {host}:{port}: {exc.strerror or exc}"
    return None


def announce_start(settings: Settings, embedded, announce: Callable[[str], None]) -> None:
    """What a start says before serving: a default key made now (on the embedded Redis, so the first request
    is possible right away), which Redis, and what recall runs on."""
    from ..services import Services

    secret = None
    with Services.build(settings) as admin:
        if embedded is not None:
            secret = admin.keys.ensure_default_key()
        recall = recall_status(admin)
    if secret:
        announce(
            "memory-api: no API keys yet, so one was created for user 'default'.\n"
            "It is shown only this once; keep it:\n\n"
            f"    {secret}\n"
        )
    if embedded:
        announce(f"memory-api: embedded Redis at {embedded.url} (data in {embedded.data_dir})")
    else:
        announce(f"memory-api: {store_in_use(settings)}")
    for line in recall:
        announce(f"memory-api: {line}")
    announce(f"memory-api: {provider_status(settings)}")
    announce(f"memory-api: {capture_status(settings)}")
    sys.stdout.flush()


def provider_status(settings: Settings) -> str:
    """Which model provider chat, Responses, summaries and capture use, said at start (never its key)."""
    if not settings.provider_configured:
        return ("no model provider configured: the memory API works; chat, Responses and capture answer 503 "
                "until OPENAI_API_KEY (and OPENAI_BASE_URL for another provider) is set")
    where = settings.openai_base_url or "https://api.openai.com/v1"
    return (f"model provider {where} (chat model {settings.chat_model}, "
            f"capture model {settings.effective_capture_model})")


def capture_status(settings: Settings) -> str:
    """Whether chat turns are captured by default, said at start, with how to turn it off (or on)."""
    if settings.capture_by_default:
        where = "" if settings.capture_workers > 0 else \
            " by `memory-api worker` (none runs here: MEMORY_API_CAPTURE_WORKERS=0)"
        return (f"automatic capture on: memories are learnt from answered chat turns{where} (a turn with "
                "nothing to remember skips the model); turn it off with MEMORY_API_AUTO_CAPTURE=false (a user: "
                "PATCH /v1/memory/preferences {\"capture\": false}; a request: \"memory\": {\"capture\": false})")
    if not settings.provider_configured:
        return "automatic capture off: no model provider configured"
    return ("automatic capture off (MEMORY_API_AUTO_CAPTURE=false); a request or conversation turns it on "
            "with \"memory\": {\"capture\": true}")


def run_server(settings: Settings, *, announce: Callable[[str], None] = print) -> int:
    """Run the service until it is stopped; returns gunicorn's exit status (1 if it cannot listen)."""
    from ..logs import configure_logging
    from ..store.embedded import EmbeddedRedis
    from ..store.supervisor import EmbeddedRedisSupervisor

    configure_logging(settings.log_level, settings.log_format)  # the master's own lines (the supervisor's) too
    problem = cannot_listen(settings.host, settings.port)
    if problem:
        print(f"memory-api: {problem}", file=sys.stderr)
        return 1
    embedded = supervisor = None
    if settings.uses_embedded_redis:
        embedded = EmbeddedRedis.attach(settings.data_dir)
        settings = settings.replace(redis_url=embedded.url)
        supervisor = EmbeddedRedisSupervisor(embedded).start()
    master_pid = os.getpid()
    metrics_options = prepare_multiprocess_metrics(settings)
    capture = None  # the capture worker process, once started
    try:
        announce_start(settings, embedded, announce)

        def serving(arbiter) -> None:  # gunicorn's when_ready: the socket is bound, workers are coming
            announce(f"memory-api: serving on http://{settings.host}:{settings.port}")
            if settings.metrics:
                announce("memory-api: Prometheus metrics at /metrics (a service key reads them)")
            sys.stdout.flush()

        if settings.capture_workers > 0:
            from .worker import CaptureWorkerProcess

            assert settings.redis_url  # the configured Redis, or the embedded one's (set above)
            capture = CaptureWorkerProcess(settings.redis_url, settings.capture_workers).start()
            announce(f"memory-api: capture worker running ({settings.capture_workers} thread(s))")
        server = GunicornServer(lambda: create_app(settings),
                                {**gunicorn_options(settings), **metrics_options, "when_ready": serving})
        try:
            server.run()
        except SystemExit as exc:
            return int(exc.code or 0) if os.getpid() == master_pid else _worker_exit(exc)
        return 0
    finally:
        if capture is not None and os.getpid() == master_pid:
            capture.stop()  # lets it finish the job in hand
        if supervisor is not None:
            supervisor.stop()  # a no-op in forked workers, like release()
        if embedded is not None:
            embedded.release()  # a no-op in forked workers
        if os.getpid() == master_pid:
            remove_multiprocess_metrics()


def recall_status(services) -> list[str]:
    """What recall runs on, said at start: semantic (which model) or keyword only (and why); and a
    warning when the stored vectors were made by another embedding model."""
    try:
        reason = services.search.semantic.unavailable_reason()
        mismatch = services.check_embedding_model()
    except ApiError as exc:  # Redis not reachable yet, or a store to migrate: requests say so (503) until fixed
        return [f"WARNING: {exc.message} Until then requests answer 503 store_unavailable."]
    if reason:
        lines = [f"WARNING: keyword recall only (search by meaning is off): {reason}"]
    else:
        lines = [f"recall by meaning and keywords (embedding model {services.search.semantic.model()}, "
                 f"default mode {services.search.semantic.mode(None)})"]
    return lines + ([f"WARNING: {mismatch}"] if mismatch else [])


def _worker_exit(exc: SystemExit):
    raise exc  # a gunicorn worker leaving: let it exit as gunicorn intends


@main.command()
@click.option("--host", help="Address to bind (default MEMORY_API_HOST or 127.0.0.1).")
@click.option("--port", type=int, help="Port (default MEMORY_API_PORT or 8000).")
@click.option("--workers", type=click.IntRange(1, 64), help="Worker processes (default MEMORY_API_WORKERS or 2).")
@click.option("--worker-class", type=click.Choice(["gevent", "gthread"]),
              help="gunicorn worker model (default MEMORY_API_WORKER_CLASS or gevent).")
@click.option("--threads", type=click.IntRange(1, 256),
              help="gthread: threads per worker (default MEMORY_API_THREADS or 4).")
def serve(host: str | None, port: int | None, workers: int | None, worker_class: str | None,
          threads: int | None) -> None:
    """Run the HTTP API under gunicorn (embedded Redis unless REDIS_URL is set)."""
    settings = settings_from_env()
    overrides = {k: v for k, v in dict(host=host, port=port, workers=workers, worker_class=worker_class,
                                       threads=threads).items() if v is not None}
    sys.exit(run_server(settings.replace(**overrides)))
