"""`memory-api worker`: capture workers, which extract memories from answered chat turns, and the sweeper that
deletes memories past their expiry (services/expiry.py).

`serve` runs one beside gunicorn by default (MEMORY_API_CAPTURE_WORKERS
threads, restarted if it dies); in production run any number of them, on any
machine, pointed at the same Redis.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import subprocess
import sys
import threading

import click

from ..logs import configure_logging
from ..services.capture_jobs import CaptureWorkers
from ..services.expiry import ExpirySweeper
from . import main, open_services, settings_from_env

log = logging.getLogger(__name__)

_PARENT_ENV = "MEMORY_API_WORKER_PARENT_PID"  # set by serve for the worker it runs
# Exits of a worker that was told to stop: SIGTERM, SIGINT, SIGHUP (exits.py's 128 + signal, or the signal),
# and 0, its exit after Ctrl-C (a terminal signals serve's whole process group, the worker too, and it ends
# its jobs in hand and exits cleanly): never a reason to start another while serve is stopping.
_ASKED_TO_STOP = {0, 128 + 15, 128 + 2, 128 + 1, -15, -2, -1}


@main.command()
@click.option("--threads", type=click.IntRange(1, 64),
              help="Worker threads (default MEMORY_API_CAPTURE_WORKERS, at least 1).")
def worker(threads: int | None) -> None:
    """Run capture workers until stopped (SIGTERM/SIGINT: the jobs in hand are finished first)."""
    # Ctrl-C before the workers were running (a terminal signals serve's whole process group, this worker
    # too, however early) is a clean stop, not click's "Aborted!" and exit 1, which serve would have taken
    # for a crash and restarted.
    with contextlib.suppress(KeyboardInterrupt):
        _run_workers(threads)


def _run_workers(threads: int | None) -> None:
    settings = settings_from_env()
    configure_logging(settings.log_level, settings.log_format)
    if settings.metrics:  # counted into serve's /metrics (PROMETHEUS_MULTIPROC_DIR comes from serve)
        from .. import metrics

        metrics.enable()
    parent = int(os.environ.get(_PARENT_ENV, "0") or 0)
    # Run by serve, which has said where the store is: its stderr carries only log lines (JSON ones too).
    with open_services(announce=not parent) as services:
        count = threads or max(settings.capture_workers, 1)
        workers = CaptureWorkers(services.capture_jobs, name=f"{socket.gethostname()}-{os.getpid()}",
                                 threads=count).start()
        if parent:
            log.info("capture worker: %d thread(s) running", count)
        else:
            print(f"memory-api: {count} capture worker thread(s) running", file=sys.stderr, flush=True)
        idle = threading.Event()  # never set: the main thread only watches for the parent's end
        sweeper = ExpirySweeps(services.expiry).start()
        try:
            while not idle.wait(1.0):
                if parent and os.getppid() != parent:  # serve is gone (killed): so are we
                    break
        except KeyboardInterrupt:
            pass
        finally:
            sweeper.stop()
            workers.stop()


class ExpirySweeps:
    """The expiry sweeper's thread: a sweep every MEMORY_API_EXPIRY_SWEEP_SECONDS, a failed one logged and
    tried again at the next."""

    def __init__(self, sweeper: ExpirySweeper) -> None:
        self._sweeper = sweeper
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="expiry-sweeper")

    def start(self) -> ExpirySweeps:
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self._sweeper.every):
            try:
                self._sweeper.sweep()
            except Exception:  # a Redis away now is there at the next sweep
                log.warning("expiry sweep failed; trying again in %d s", self._sweeper.every, exc_info=True)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)


class CaptureWorkerProcess:
    """`memory-api worker` as a child of `serve`: started with serve's Redis, restarted (with backoff)
    if it dies, stopped with serve."""

    def __init__(self, redis_url: str, threads: int) -> None:
        self._command = [sys.executable, "-m", "memory_api.cli", "worker", "--threads", str(threads)]
        self._env = {**os.environ, "REDIS_URL": redis_url, _PARENT_ENV: str(os.getpid())}
        self._stop = threading.Event()
        self._proc: subprocess.Popen | None = None
        self._thread = threading.Thread(target=self._supervise, daemon=True, name="capture-worker")

    def start(self) -> CaptureWorkerProcess:
        self._thread.start()
        return self

    def _supervise(self) -> None:
        delay = 1.0
        while not self._stop.is_set():
            self._proc = subprocess.Popen(self._command, env=self._env)
            code = self._proc.wait()
            if self._stop.is_set():
                return
            if code in _ASKED_TO_STOP:  # e.g. systemd's stop signals the whole group: serve is stopping too
                log.info("capture worker stopped by a signal (exit %s); not restarting it", code)
                return
            log.warning("capture worker exited with %s; restarting in %.0f s", code, delay)
            self._stop.wait(delay)
            delay = min(delay * 2, 60.0)

    def stop(self, timeout: float = 15.0) -> None:
        self._stop.set()
        proc = self._proc
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
        self._thread.join(timeout)
