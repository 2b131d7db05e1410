"""Input rules shared by every door (REST, MCP, CLI): each rule is written once, here.

`InputRules` is built from Settings, so every limit has one owner: the same
object checks a request in the services and feeds the numbers that the
marshmallow schemas (and so openapi.yaml) document. Every check raises
InvalidRequest naming the offending field with a stable `code`, so REST, MCP
and the CLI report the same code for the same mistake.

Formats that are not limits (the characters a tag or scope may use, control
characters) are module constants: they are part of the API's contract, not
settings.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from .errors import InvalidRequest
from .ids import MEMORY_PREFIX, id_problem, is_memory_id
from .models import SOURCES, Filters

# Control characters other than tab, newline and carriage return, and lone
# surrogates (which JSON can carry but UTF-8 cannot encode).
_FORBIDDEN_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
# The same rule as JSON Schema patterns, for openapi.yaml (lone surrogates cannot be said there).
_ALLOWED = r"[^\x00-\x08\x0B\x0C\x0E-\x1F\x7F]"
TEXT_PATTERN = f"^{_ALLOWED}*$"
# Whitespace as Python's str.strip() sees it, spelled out: JSON Schema's \s (ECMA-262) is another set.
SPACE_CHARS = r"\t\n\x0B\x0C\r\x1C-\x1F \x85\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000"
NON_BLANK_TEXT_PATTERN = rf"^{_ALLOWED}*[^{SPACE_CHARS}\x00-\x08\x0E-\x1F\x7F]{_ALLOWED}*$"

# Tags: short labels, compared case-insensitively (stored case-folded).
TAG_PATTERN = r"^[\w.:/+-]{1,64}$"
_tag_re = re.compile(TAG_PATTERN)
# Scopes: a project, a conversation... "global" names the memories that have none.
GLOBAL_SCOPE = "global"
SCOPE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,63}$"
_scope_re = re.compile(SCOPE_PATTERN)
ORDERS = ("desc", "asc")

# The numbers an import may set. Redis's Lua (cjson) writes a number with 14 significant digits, so
# a stored integer must stay far below 10**14 to survive a script's decode and encode exactly (a
# revision of 10**19 came back as "1e+19", and If-Match could never name it again). A revision also
# needs room to grow by one per update.
MAX_REVISION = 2**31 - 1
MAX_UNIX_TIME = 253_402_300_799  # 9999-12-31T23:59:59Z


def check_text(value: Any, *, param: str, max_chars: int | None = None, allow_empty: bool = False,
               strip: bool = False, label: str | None = None) -> str:
    """A string free of control characters, within `max_chars`; returned (trimmed if `strip`).
    Messages name `label` (default: `param`), e.g. one metadata key inside 'metadata'."""
    name = label or param
    if not isinstance(value, str):
        raise InvalidRequest(f"'{name}' must be a string.", param=param, code="invalid_type")
    bad = _FORBIDDEN_CHARS.search(value)
    if bad:
        raise InvalidRequest(
            f"'{name}' contains a forbidden character (U+{ord(bad.group()):04X}) at position {bad.start()}.",
            param=param, code="invalid_characters",
        )
    if not allow_empty and not value.strip():
        raise InvalidRequest(f"'{name}' must not be empty.", param=param, code="empty_value")
    if max_chars is not None and len(value) > max_chars:
        raise InvalidRequest(f"'{name}' is {len(value)} characters long; the maximum is {max_chars}.",
                             param=param, code="string_above_max_length")
    return value.strip() if strip else value


def check_source(value: Any, *, param: str = "source") -> str | None:
    """A memory source to filter on (None: any): one of SOURCES."""
    if value is None or value in SOURCES:
        return value
    raise InvalidRequest(f"'{param}' must be one of {', '.join(SOURCES)}.", param=param, code="invalid_value")


def check_memory_id(value: object, *, param: str = "memory_id") -> str:
    if not isinstance(value, str) or not is_memory_id(value):
        raise InvalidRequest(
            f"Invalid memory id {str(value)[:80]!r}: {id_problem(value, MEMORY_PREFIX)}. A memory id is "
            f"'{MEMORY_PREFIX}' followed by 26 characters of Crockford base32 (digits and upper-case letters "
            "except I, L, O and U).",
            param=param, code="invalid_id",
        )
    return value


def check_tag(value: Any, *, param: str = "tag") -> str:
    """A tag, case-folded. The folded form is what is checked, since it is what is stored and what
    the API hands back: folding can lengthen a tag ("ß" -> "ss") or add a combining mark ("İ" ->
    "i" + U+0307), and a stored tag the API would then refuse could not be sent back, filtered by or
    imported again."""
    if not isinstance(value, str) or not _tag_re.fullmatch(value):
        raise InvalidRequest(
            f"'{param}' must be 1-64 letters, digits or _ . : / + - (got {str(value)[:70]!r}).",
            param=param, code="invalid_tag",
        )
    folded = value.casefold()
    if not _tag_re.fullmatch(folded):
        raise InvalidRequest(
            f"'{param}' {value[:70]!r} is stored lower-cased as {folded[:70]!r}, which is not 1-64 letters, "
            "digits or _ . : / + -.", param=param, code="invalid_tag",
        )
    return folded


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


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check_int_range(value: Any, *, param: str, minimum: int, maximum: int) -> int:
    """A JSON integer (not a boolean) from `minimum` to `maximum`."""
    if not _is_int(value) or not minimum <= value <= maximum:
        raise InvalidRequest(f"'{param}' must be an integer from {minimum} to {maximum}.", param=param,
                             code="invalid_value")
    return value


# A memory's times (models.Memory): when it happened, until when it holds, when it is deleted.
TIME_FIELDS = ("occurred_at", "valid_until", "expires_at")


def check_time(value: Any, *, param: str) -> int | None:
    """A memory's time: null, or a Unix time in seconds from 1970 to the end of 9999."""
    if value is None:
        return None
    if not _is_int(value) or not 0 <= value <= MAX_UNIX_TIME:
        raise InvalidRequest(f"'{param}' must be null or a Unix time in seconds, from 0 (1970) to {MAX_UNIX_TIME} "
                             "(the end of 9999).", param=param, code="invalid_time")
    return value


def times_of(data: dict[str, Any], *, prefix: str = "") -> dict[str, int | None]:
    """The time fields `data` gives (only those it has; null clears one), each checked."""
    return {name: check_time(data[name], param=f"{prefix}{name}") for name in TIME_FIELDS if name in data}


def check_time_order(occurred_at: int | None, valid_until: int | None, *, param: str = "valid_until") -> None:
    """A memory cannot stop holding before it happened."""
    if occurred_at is not None and valid_until is not None and valid_until < occurred_at:
        raise InvalidRequest(f"'{param}' ({valid_until}) is before 'occurred_at' ({occurred_at}): a memory cannot "
                             "stop holding before it happened.", param=param, code="invalid_time")


def check_expiry_ahead(expires_at: int | None, now: int, *, param: str = "expires_at") -> None:
    """An expiry given by a write lies in the future: a memory past it would never be seen (to remove one
    now, delete it)."""
    if expires_at is not None and expires_at <= now:
        raise InvalidRequest(f"'{param}' ({expires_at}) is not in the future: a memory past its expiry is never "
                             "returned. To remove a memory now, delete it.", param=param, code="invalid_time")


MAX_CONVERSATION_ID_CHARS = 128


def check_origin(value: Any, *, param: str = "origin") -> dict[str, Any] | None:
    """Where a memory was said (null: nowhere in particular): {"conversation_id": a string, "turn": an
    integer from 0}. Memories of one conversation at adjacent turns are ranked as neighbours."""
    if value is None:
        return None
    if not isinstance(value, dict) or set(value) != {"conversation_id", "turn"}:
        raise InvalidRequest(f"'{param}' must be null or an object with exactly 'conversation_id' and 'turn'.",
                             param=param, code="invalid_value")
    conversation = check_text(value["conversation_id"], param=f"{param}.conversation_id",
                              max_chars=MAX_CONVERSATION_ID_CHARS)
    return {"conversation_id": conversation,
            "turn": check_int_range(value["turn"], param=f"{param}.turn", minimum=0, maximum=MAX_REVISION)}


def _time_filter_values(values: dict[str, Any], prefix: str = "") -> dict[str, int | None]:
    """Unix times a filter takes (None: not given), each checked."""
    for name, value in values.items():
        if value is not None and (not _is_int(value) or value < 0):
            raise InvalidRequest(f"'{prefix}{name}' must be a Unix time in seconds.", param=f"{prefix}{name}",
                                 code="invalid_value")
    return values


@dataclass(frozen=True)
class InputRules:
    """Every limit on input, read from Settings once; the checks that enforce them."""

    max_content_chars: int = 4000
    max_page_size: int = 100
    default_page_size: int = 20
    max_batch: int = 100
    max_query_chars: int = 1000
    max_tags: int = 20
    metadata_max_keys: int = 16
    metadata_max_key_chars: int = 64
    metadata_max_value_chars: int = 512

    @classmethod
    def from_settings(cls, settings) -> InputRules:
        return cls(**{name: getattr(settings, name) for name in cls.__dataclass_fields__})

    def content(self, value: Any, *, param: str = "content") -> str:
        """Memory content: non-empty after trimming, at most max_content_chars; returned trimmed."""
        return check_text(value, param=param, max_chars=self.max_content_chars, strip=True)

    def query(self, value: Any, *, param: str = "query") -> str:
        return check_text(value, param=param, max_chars=self.max_query_chars)

    def metadata(self, value: Any, *, param: str = "metadata") -> dict[str, str]:
        """OpenAI-style metadata: string keys and string values, within the metadata limits."""
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise InvalidRequest(f"'{param}' must be an object of strings.", param=param, code="invalid_type")
        if len(value) > self.metadata_max_keys:
            raise InvalidRequest(f"'{param}' has {len(value)} keys; the maximum is {self.metadata_max_keys}.",
                                 param=param, code="too_many_keys")
        for key, item in value.items():
            check_text(key, param=param, label=f"{param} key {str(key)[:40]!r}", max_chars=self.metadata_max_key_chars)
            if not isinstance(item, str):
                raise InvalidRequest(f"'{param}.{key}' must be a string.", param=param, code="invalid_type")
            check_text(item, param=param, label=f"{param}.{key}", max_chars=self.metadata_max_value_chars,
                       allow_empty=True)
        return dict(value)

    def tags(self, value: Any, *, param: str = "tags") -> list[str]:
        """A list of tags; case-folded, repeats dropped, order kept."""
        if value is None:
            return []
        if not isinstance(value, list):
            raise InvalidRequest(f"'{param}' must be an array of strings.", param=param, code="invalid_type")
        tags = list(dict.fromkeys(check_tag(tag, param=param) for tag in value))
        if len(tags) > self.max_tags:
            raise InvalidRequest(f"'{param}' has {len(tags)} tags; the maximum is {self.max_tags}.", param=param,
                                 code="too_many_tags")
        return tags

    def page(self, limit: Any, order: Any) -> tuple[int, str]:
        """A page size and an order ('desc' newest first, 'asc')."""
        self.limit(limit)
        if order not in ORDERS:
            raise InvalidRequest("'order' must be 'desc' or 'asc'.", param="order", code="invalid_order")
        return limit, order

    def limit(self, value: Any) -> int:
        if not _is_int(value) or not 1 <= value <= self.max_page_size:
            raise InvalidRequest(f"'limit' must be an integer from 1 to {self.max_page_size}.", param="limit",
                                 code="invalid_limit")
        return value

    @staticmethod
    def min_score(value: Any, *, param: str = "min_score") -> float | None:
        """A relevance floor (None: none): any finite number."""
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise InvalidRequest(f"'{param}' must be a number.", param=param, code="invalid_value")
        return float(value)

    def batch(self, items: Any, *, param: str, what: str) -> list:
        """A batch: a list of 1 to max_batch items."""
        if not isinstance(items, list) or not 1 <= len(items) <= self.max_batch:
            raise InvalidRequest(f"'{param}' must be an array of 1 to {self.max_batch} {what}.", param=param,
                                 code="invalid_batch")
        return items

    def filters(self, tags: Any = None, scope: Any = None, created_after: Any = None, created_before: Any = None,
                updated_after: Any = None, updated_before: Any = None, source: Any = None,
                occurred_after: Any = None, occurred_before: Any = None, as_of: Any = None,
                include_invalid: Any = None) -> Filters:
        """List and search filters: tags (all must match), scope ('global': none), time ranges (created,
        updated, occurred; `as_of`: what held at that time), whether memories past their valid_until are
        included (None: the door's default), and the source of the memories' latest versions."""
        times: dict[str, Any] = _time_filter_values({"created_after": created_after, "created_before": created_before,
                                                     "updated_after": updated_after, "updated_before": updated_before})
        if tags is not None and not isinstance(tags, (list, tuple)):
            raise InvalidRequest("'tag' must be an array of strings.", param="tag", code="invalid_type")
        tag_list = [check_tag(t, param="tag") for t in (tags or [])]
        return Filters(tags=tuple(dict.fromkeys(tag_list)), scope=check_scope(scope, allow_global=True),
                       scoped=scope is not None, source=check_source(source), **times,
                       **self.time_filters({"occurred_after": occurred_after, "occurred_before": occurred_before,
                                            "as_of": as_of, "include_invalid": include_invalid}))

    @staticmethod
    def time_filters(options: dict[str, Any], *, prefix: str = "") -> dict[str, Any]:
        """The memory-time filters of a request (occurred_after, occurred_before, as_of, include_invalid),
        checked, as Filters fields; `prefix` names where they were ("memory." in chat)."""
        values = _time_filter_values({name: options.get(name) for name in ("occurred_after", "occurred_before",
                                                                           "as_of")}, prefix)
        include_invalid = options.get("include_invalid")
        if include_invalid is not None and not isinstance(include_invalid, bool):
            raise InvalidRequest(f"'{prefix}include_invalid' must be true or false.",
                                 param=f"{prefix}include_invalid", code="invalid_type")
        return {**values, "include_invalid": include_invalid}
