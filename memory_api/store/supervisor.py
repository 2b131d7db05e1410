"""Keeps the embedded Redis of `memory-api serve` running: restarts it when it dies.

`serve` owns the embedded redis-server for as long as it runs (store/embedded.py). If that
server dies (killed, out of memory, a crash), every request would answer 503 until someone
restarted it; the supervisor, a thread in the gunicorn master, notices within a fraction of a
second (the server's own lock on `server.lock` is released by its death) and starts it again
on the same data directory and socket. The workers' connections fail once and reconnect to the
new server, so requests recover within seconds. A server that keeps dying is restarted after a
growing pause (backoff), each attempt logged, rather than in a tight loop.
"""

from __future__ import annotations

import logging
import os
import threading
import time

from .embedded import EmbeddedRedis
from .redis_binary import EmbeddedRedisError

log = logging.getLogger(__name__)


class EmbeddedRedisSupervisor:
    """A thread that restarts `embedded`'s redis-server whenever it is found dead."""

    def __init__(self, embedded: EmbeddedRedis, *, check_every: float = 0.25, first_backoff: float = 0.5,
                 max_backoff: float = 30.0, stable_after: float = 30.0, start_timeout: float = 20.0) -> None:
        self._embedded = embedded
        self._check_every = check_every
        self._first_backoff = first_backoff
        self._max_backoff = max_backoff
        # A server that stays up this long after a restart ends a run of crashes: the next death
        # is restarted at once again.
        self._stable_after = stable_after
        self._start_timeout = start_timeout
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._owner_pid = os.getpid()
        self.restarts = 0

    def start(self) -> EmbeddedRedisSupervisor:
        self._thread = threading.Thread(target=self._watch, name="embedded-redis-supervisor", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop watching (before the server is shut down on purpose). A no-op in forked children."""
        if os.getpid() != self._owner_pid or self._thread is None:
            return
        self._stopping.set()
        self._thread.join()

    def _watch(self) -> None:
        backoff = 0.0
        restarted_at = float("-inf")
        while not self._stopping.wait(self._check_every):
            if self._embedded.server_is_running():
                if time.monotonic() - restarted_at > self._stable_after:
                    backoff = 0.0
                continue
            if backoff:
                log.warning("embedded Redis for %s died again; restarting it in %.1fs",
                            self._embedded.data_dir, backoff)
                if self._stopping.wait(backoff):
                    return
            else:
                log.warning("embedded Redis for %s died; restarting it", self._embedded.data_dir)
            backoff = min(max(2 * backoff, self._first_backoff), self._max_backoff)
            restarted_at = time.monotonic()
            try:
                self._embedded.ensure_running(timeout=self._start_timeout)
            except EmbeddedRedisError as exc:
                log.error("could not restart the embedded Redis: %s", exc)
                continue
            self.restarts += 1
            log.warning("embedded Redis for %s restarted (restart %d)", self._embedded.data_dir, self.restarts)
