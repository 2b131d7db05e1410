"""Input rules shared by every door (REST, MCP, CLI): each rule is written once, here.

They raise InvalidRequest naming the offending field, so the HTTP layer and the
MCP tools report the same message for the same mistake.
"""

from __future__ import annotations

import re
from typing import Any

from .errors import InvalidRequest

# OpenAI's metadata rules.
METADATA_MAX_KEYS = 16
METADATA_MAX_KEY_CHARS = 64
METADATA_MAX_VALUE_CHARS = 512

# Control characters other than tab, newline and carriage return, and lone
# surrogates (which JSON can carry but UTF-8 cannot encode).
_FORBIDDEN_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
# The same rule as JSON Schema patterns, for openapi.yaml (lone surrogates cannot be said there).
_ALLOWED = r"[^\x00-\x08\x0B\x0C\x0E-\x1F\x7F]"
TEXT_PATTERN = f"^{_ALLOWED}*$"
# Whitespace as Python's str.strip() sees it, spelled out: JSON Schema's \s (ECMA-262) is another set.
_SPACE = r"\t\n\x0B\x0C\r\x1C-\x1F \x85\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000"
NON_BLANK_TEXT_PATTERN = rf"^{_ALLOWED}*[^{_SPACE}\x00-\x08\x0E-\x1F\x7F]{_ALLOWED}*$"


def check_text(
    value: Any,
    *,
    param: str,
    max_chars: int | None = None,
    allow_empty: bool = False,
    strip: bool = False,
) -> str:
    """A string free of control characters, within `max_chars`; returned (trimmed if `strip`)."""
    if not isinstance(value, str):
        raise InvalidRequest(f"'{param}' must be a string.", param=param, code="invalid_type")
    bad = _FORBIDDEN_CHARS.search(value)
    if bad:
        raise InvalidRequest(
            f"'{param}' contains a forbidden character (U+{ord(bad.group()):04X}) at position {bad.start()}.",
            param=param,
            code="invalid_characters",
        )
    if not allow_empty and not value.strip():
        raise InvalidRequest(f"'{param}' must not be empty.", param=param, code="empty_value")
    if max_chars is not None and len(value) > max_chars:
        raise InvalidRequest(
            f"'{param}' is {len(value)} characters long; the maximum is {max_chars}.",
            param=param,
            code="string_above_max_length",
        )
    return value.strip() if strip else value


def check_content(value: Any, *, max_chars: int, param: str = "content") -> str:
    """Memory content: non-empty after trimming, at most `max_chars`; returned trimmed."""
    return check_text(value, param=param, max_chars=max_chars, strip=True)


def check_metadata(value: Any, *, param: str = "metadata") -> dict[str, str]:
    """OpenAI-style metadata: at most 16 string keys (64 chars) with string values (512 chars)."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidRequest(f"'{param}' must be an object of strings.", param=param, code="invalid_type")
    if len(value) > METADATA_MAX_KEYS:
        raise InvalidRequest(
            f"'{param}' has {len(value)} keys; the maximum is {METADATA_MAX_KEYS}.",
            param=param,
            code="too_many_keys",
        )
    for key, item in value.items():
        check_text(key, param=param, max_chars=METADATA_MAX_KEY_CHARS)
        if not isinstance(item, str):
            raise InvalidRequest(
                f"'{param}.{key}' must be a string.", param=param, code="invalid_type"
            )
        check_text(item, param=param, max_chars=METADATA_MAX_VALUE_CHARS, allow_empty=True)
    return dict(value)


# Tags: short labels, compared case-insensitively (stored case-folded).
MAX_TAGS = 20
TAG_PATTERN = r"^[\w.:/+-]{1,64}$"
_tag_re = re.compile(TAG_PATTERN)
# Scopes: a project, a conversation... "global" names the memories that have none.
GLOBAL_SCOPE = "global"
SCOPE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,63}$"
_scope_re = re.compile(SCOPE_PATTERN)


def check_tag(value: Any, *, param: str = "tag") -> str:
    if not isinstance(value, str) or not _tag_re.fullmatch(value):
        raise InvalidRequest(
            f"'{param}' must be 1-64 letters, digits or _ . : / + - (got {str(value)[:70]!r}).",
            param=param, code="invalid_tag",
        )
    return value.casefold()


def check_tags(value: Any, *, param: str = "tags") -> list[str]:
    """A list of at most 20 tags; case-folded, repeats dropped, order kept."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise InvalidRequest(f"'{param}' must be an array of strings.", param=param, code="invalid_type")
    tags = list(dict.fromkeys(check_tag(tag, param=param) for tag in value))
    if len(tags) > MAX_TAGS:
        raise InvalidRequest(f"'{param}' has {len(tags)} tags; the maximum is {MAX_TAGS}.", param=param,
                             code="too_many_tags")
    return tags


def check_scope(value: Any, *, param: str = "scope", allow_global: bool = False) -> str | None:
    """A scope name (None for none). 'global' means "no scope" only where `allow_global` (filters)."""
    if value is None:
        return None
    if allow_global and value == GLOBAL_SCOPE:
        return None
    if not isinstance(value, str) or not _scope_re.fullmatch(value) or value == GLOBAL_SCOPE:
        raise InvalidRequest(
            f"'{param}' must be 1-64 letters, digits or _ . : / - starting with a letter or digit, "
            f"and not '{GLOBAL_SCOPE}' (got {str(value)[:70]!r}).",
            param=param, code="invalid_scope",
        )
    return value
