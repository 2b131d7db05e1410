"""Running a few independent store reads at once: a chat that draws from shared spaces ranks the user's
own memories and each space's, each on its own Redis slot, so their round trips can overlap.

One small pool per process, made on first use (a pool made before gunicorn forks would have no threads
in the worker). Under gevent's monkey-patching its threads are greenlets, which overlap on the sockets
just as well.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")

MAX_THREADS = 8
_lock = threading.Lock()
_pool: tuple[int, ThreadPoolExecutor] | None = None


def _executor() -> ThreadPoolExecutor:
    global _pool
    with _lock:
        if _pool is None or _pool[0] != os.getpid():
            _pool = (os.getpid(), ThreadPoolExecutor(max_workers=MAX_THREADS, thread_name_prefix="memory-api-read"))
        return _pool[1]


def in_parallel(fn: Callable[[T], R], items: Sequence[T]) -> list[R]:
    """fn of each item, in order: the first in this thread, the rest in the pool, all at once. An error
    of any is raised here (after every call has ended, so none outlives the request)."""
    futures = [_executor().submit(fn, item) for item in items[1:]]
    try:
        first = fn(items[0])
    finally:
        wait(futures)  # every call ends before this returns or raises
    return [first, *(future.result() for future in futures)]
