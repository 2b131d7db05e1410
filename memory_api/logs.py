"""Logging setup: one line per event on stderr, request id and user on every access line.

Secrets never reach the log: keys are logged by id, never by value; memory
content only at DEBUG.
"""

from __future__ import annotations

import logging
import sys

_FORMAT = "%(asctime)s %(levelname)s %(name)s pid=%(process)d %(message)s"


def configure_logging(level: str = "INFO") -> None:
    root = logging.getLogger("memory_api")
    root.setLevel(level.upper())
    if not any(getattr(h, "_memory_api", False) for h in root.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter(_FORMAT))
        handler._memory_api = True  # type: ignore[attr-defined]
        root.addHandler(handler)
        root.propagate = False
