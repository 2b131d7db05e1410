"""Prometheus' multiprocess mode for `memory-api serve`: one private directory per server.

gunicorn's workers are separate processes, so each keeps its figures in
memory-mapped files in PROMETHEUS_MULTIPROC_DIR and a scrape of any worker
adds up every worker's (memory_api/metrics.py). The master makes the directory
before it loads the app (prometheus-client reads the variable when it is first
imported), marks each dead worker through gunicorn's `child_exit` hook, and
removes the directory when it stops, so a restart never adds up an old run's files.
"""

from __future__ import annotations

import os
import shutil
import tempfile

from ..config import Settings
from ..metrics import MULTIPROC_ENV, worker_exited


def prepare_multiprocess_metrics(settings: Settings) -> dict:
    """With metrics on: a fresh private directory in PROMETHEUS_MULTIPROC_DIR, and the gunicorn hooks
    to add to its options. With metrics off: nothing."""
    if not settings.metrics:
        return {}
    os.environ[MULTIPROC_ENV] = tempfile.mkdtemp(prefix="memory-api-metrics-")
    return {"child_exit": _child_exit}


def remove_multiprocess_metrics() -> None:
    """Remove the directory (in the master, once every worker has exited)."""
    directory = os.environ.pop(MULTIPROC_ENV, None)
    if directory and os.path.basename(directory).startswith("memory-api-metrics-"):
        shutil.rmtree(directory, ignore_errors=True)


def _child_exit(server, worker) -> None:
    worker_exited(worker.pid)
