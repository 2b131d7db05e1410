"""Conditional requests: ETag, If-Match (412 on a stale write) and If-None-Match (304)."""

from __future__ import annotations

import re

from flask import current_app, request

from ..models import Memory
from .parsing import json_response

_ETAG_RE = re.compile(r'"(\d{1,18}\.\d{1,18})"')  # Memory.etag: "<revision>.<document number>"


def if_match_versions() -> list[str] | None:
    """Versions If-Match accepts (strong comparison: W/ tags never match); None: no condition."""
    header = request.headers.get("If-Match")
    if header is None or header.strip() == "*":  # "*": any current version (existence is checked)
        return None
    return [m.group(1) for m in (_ETAG_RE.fullmatch(tag.strip()) for tag in header.split(",")) if m]


def not_modified(etag: str) -> bool:
    """If-None-Match names the current representation (weak comparison)."""
    header = request.headers.get("If-None-Match")
    if not header:
        return False
    if header.strip() == "*":
        return True
    return etag in (tag.strip().removeprefix("W/") for tag in header.split(","))


def memory_response(memory: Memory, extra: dict | None = None):
    """A memory as JSON with its ETag."""
    return json_response({**memory.to_api(), **(extra or {})}, headers={"ETag": memory.etag})


def not_modified_response(memory: Memory):
    return current_app.response_class(status=304, headers={"ETag": memory.etag})
