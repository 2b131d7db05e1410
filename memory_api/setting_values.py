"""How a setting's text is read, where it is more than a number: booleans, rate limits, CORS origins.
(memory_api/config.py declares the settings; services parse the same values with these.)"""

from __future__ import annotations

import re
from typing import Any


def parse_bool(raw: str) -> bool:
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off", ""):
        return False
    raise ValueError(f"expected true/false, got {raw!r}")


def parse_rate_limits(text: str) -> list[Any]:
    """'600/minute;20/second' as `limits` items ([] when empty); ValueError when it cannot be read."""
    if not text.strip():
        return []
    from limits import parse_many

    return parse_many(text)


def parse_path_rate_limits(text: str) -> list[tuple[str, list[Any]]]:
    """'/v1/chat/completions=30/minute,/v1/memory/import=5/hour;1/second' as (path, limits) pairs."""
    pairs = []
    for entry in filter(None, (part.strip() for part in text.split(","))):
        path, sep, limits = entry.partition("=")
        path = path.strip().rstrip("/")
        if not sep or not path.startswith("/") or not limits.strip():
            raise ValueError(f"expected PATH=LIMITS entries separated by commas, got {entry!r}")
        pairs.append((path, parse_rate_limits(limits)))
    return pairs


_ORIGIN_RE = re.compile(r"https?://[^/\s?#]+", re.IGNORECASE)


def parse_cors_origins(text: str) -> list[str]:
    """'https://a.example,http://localhost:5173' as a list of origins ([] when empty, ['*'] for any);
    ValueError for an entry that is not scheme://host[:port]: a browser's Origin header never has a path
    or a trailing slash, so such an entry would silently never match."""
    origins = []
    for entry in filter(None, (part.strip() for part in text.split(","))):
        if entry != "*" and not _ORIGIN_RE.fullmatch(entry):
            raise ValueError(f"{entry!r} is not an origin: expected scheme://host[:port] (no path), or *")
        origins.append(entry)
    return origins
