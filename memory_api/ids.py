"""Time-sortable object ids: `mem_` / `conv_` + a 26-character ULID.

A ULID is 48 bits of milliseconds and 80 random bits in Crockford base32, so
ids sort by creation time as plain strings; list pagination uses that order
directly (a Redis sorted set compared lexicographically). Within one process
ids are strictly increasing even inside one millisecond (the random part is
incremented), so a client creating memories quickly sees them in order.
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
import time

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_ULID_RE = "[0-7][0-9A-HJKMNP-TV-Z]{25}"
_RANDOM_BITS = 80
_RANDOM_MAX = (1 << _RANDOM_BITS) - 1

MEMORY_PREFIX = "mem_"
CONVERSATION_PREFIX = "conv_"
KEY_PREFIX = "key_"
SUGGESTION_PREFIX = "sug_"

MEMORY_ID_PATTERN = f"^{MEMORY_PREFIX}{_ULID_RE}$"
CONVERSATION_ID_PATTERN = f"^{CONVERSATION_PREFIX}{_ULID_RE}$"
KEY_ID_PATTERN = f"^{KEY_PREFIX}{_ULID_RE}$"
SUGGESTION_ID_PATTERN = f"^{SUGGESTION_PREFIX}{_ULID_RE}$"
SPACE_PREFIX = "space_"
SPACE_ID_PATTERN = f"^{SPACE_PREFIX}{_ULID_RE}$"

_memory_id_re = re.compile(MEMORY_ID_PATTERN)
_conversation_id_re = re.compile(CONVERSATION_ID_PATTERN)


def _encode(value: int, length: int) -> str:
    chars = []
    for _ in range(length):
        chars.append(_ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(chars))


# Crockford's digits mapped onto the digits int(..., 32) reads.
_TO_BASE32 = str.maketrans(_ALPHABET, "0123456789abcdefghijklmnopqrstuv")


def _decode(text: str) -> int:
    return int(text.translate(_TO_BASE32), 32)


class _UlidGenerator:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last_ms = -1
        self._last_random = 0
        self._pid = os.getpid()

    def __call__(self) -> str:
        with self._lock:
            if self._pid != os.getpid():  # forked (gunicorn worker): restart the sequence
                self._pid = os.getpid()
                self._last_ms = -1
            ms = int(time.time() * 1000)
            if ms <= self._last_ms:
                ms = self._last_ms
                rnd = self._last_random + 1
                if rnd > _RANDOM_MAX:  # 2**80 ids in one millisecond: borrow the next one
                    ms, rnd = ms + 1, int.from_bytes(os.urandom(10), "big") >> 1
            else:
                # Leave headroom so increments within the millisecond never overflow.
                rnd = int.from_bytes(os.urandom(10), "big") >> 1
            self._last_ms, self._last_random = ms, rnd
            return _encode(ms, 10) + _encode(rnd, 16)


new_ulid = _UlidGenerator()


def new_memory_id() -> str:
    return MEMORY_PREFIX + new_ulid()


def new_conversation_id() -> str:
    return CONVERSATION_PREFIX + new_ulid()


def new_key_id() -> str:
    return KEY_PREFIX + new_ulid()


CAPTURE_JOB_PREFIX = "cap_"
CAPTURE_JOB_ID_PATTERN = f"^{CAPTURE_JOB_PREFIX}{_ULID_RE}$"


def new_capture_job_id() -> str:
    return CAPTURE_JOB_PREFIX + new_ulid()


def derived_id(prefix: str, of_id: str, seed: str) -> str:
    """An id made the same way every time from another id (its time part) and a seed (its random
    part): a retried job gives the memory it creates the same id, so it is created once."""
    ms = _decode(of_id.split("_", 1)[1][:10])
    random = int.from_bytes(hashlib.sha256(f"{of_id}|{seed}".encode()).digest()[:10], "big") >> 1
    return prefix + _encode(ms, 10) + _encode(random, 16)


def is_memory_id(value: str) -> bool:
    return bool(_memory_id_re.fullmatch(value))


def is_conversation_id(value: str) -> bool:
    return bool(_conversation_id_re.fullmatch(value))


def id_problem(value: object, prefix: str) -> str:
    """What is wrong with `value` as an id with `prefix`, in words a caller can act on ('' if nothing)."""
    if not isinstance(value, str):
        return "it is not a string"
    if not value.startswith(prefix):
        return f"it does not start with '{prefix}'"
    ulid = value[len(prefix):]
    if len(ulid) != 26:
        return f"it has {len(ulid)} characters after '{prefix}', not 26"
    if ulid != ulid.upper() and not id_problem(prefix + ulid.upper(), prefix):
        return f"ids are upper-case (did you mean '{prefix}{ulid.upper()}')"
    for position, char in enumerate(ulid):
        if char not in _ALPHABET:
            return f"{char!r} (character {position + 1} after '{prefix}') is not one of {_ALPHABET}"
    if ulid[0] > "7":
        return f"its first character after '{prefix}' must be 0-7 (a ULID's time fits in 48 bits)"
    return ""


def created_at_of(object_id: str) -> int:
    """Unix seconds encoded in an id's ULID (its creation time)."""
    ulid = object_id.rsplit("_", 1)[1]
    return _decode(ulid[:10]) // 1000


_MAX_MS = (1 << 48) - 1


def memory_id_bounds(created_after: int | None, created_before: int | None) -> tuple[str, str]:
    """The lowest and highest memory ids created in [created_after, created_before] (Unix seconds,
    inclusive); '' where unbounded. Ids sort by creation time, so a time range is an id range."""
    low = high = ""
    if created_after is not None:
        ms = min(max(created_after * 1000, 0), _MAX_MS)
        low = MEMORY_PREFIX + _encode(ms, 10) + "0" * 16
    if created_before is not None:
        ms = min(max((created_before + 1) * 1000 - 1, 0), _MAX_MS)
        high = MEMORY_PREFIX + _encode(ms, 10) + "Z" * 16
    return low, high
