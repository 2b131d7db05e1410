"""Logging setup: one line per event on stderr, request id and user on every access line.

Two formats (MEMORY_API_LOG_FORMAT): `text`, for people, and `json`, one JSON
object per line for log collectors, with the access log's fields (request id,
user, key id, route, status, duration) as keys of their own.

Secrets never reach the log, in either format: keys are logged by id, never by
value; memory content only at DEBUG; prompts and query strings never.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import datetime, timezone

_FORMAT = "%(asctime)s %(levelname)s %(name)s pid=%(process)d %(message)s"
LOG_FORMATS = ("text", "json")


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time (UTC), level, logger, pid, message, and the record's
    `fields` (a dict passed as `extra={"fields": ...}`), each as a key of its own."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "pid": record.process,
            "message": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            entry.update(fields)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def make_formatter(log_format: str) -> logging.Formatter:
    return JsonFormatter() if log_format == "json" else logging.Formatter(_FORMAT)


def configure_logging(level: str = "INFO", log_format: str = "text") -> None:
    """memory_api's loggers write to stderr at `level` in `log_format` (the latest call's, in tests)."""
    root = logging.getLogger("memory_api")
    root.setLevel(level.upper())
    handler = next((h for h in root.handlers if getattr(h, "_memory_api", False)), None)
    if handler is None:
        handler = logging.StreamHandler(sys.stderr)
        handler._memory_api = True  # type: ignore[attr-defined]
        root.addHandler(handler)
        root.propagate = False
    handler.setFormatter(make_formatter(log_format))


def gunicorn_log_config(level: str, log_format: str) -> dict:
    """gunicorn's `logconfig_dict`: with json, its own lines (and any library's) are JSON too, and its
    access log stays silent (memory_api.access logs each request). With text: {} (gunicorn's own)."""
    if log_format != "json":
        return {}
    return {
        "root": {"level": level.upper(), "handlers": ["json_stderr"]},
        "loggers": {
            "gunicorn.error": {"level": level.upper(), "handlers": ["json_stderr"], "propagate": False,
                               "qualname": "gunicorn.error"},
            "gunicorn.access": {"level": "CRITICAL", "handlers": [], "propagate": False,
                                "qualname": "gunicorn.access"},
        },
        "handlers": {"json_stderr": {"class": "logging.StreamHandler", "formatter": "json",
                                     "stream": "ext://sys.stderr"}},
        "formatters": {"json": {"()": f"{__name__}.JsonFormatter"}},
    }
