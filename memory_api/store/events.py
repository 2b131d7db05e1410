"""The activity feed: a STREAM per user that the memory write scripts append to (memory_lua.py).

Reading it is all that happens here; entries are only ever written by the
scripts, in the same call as the write they record.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from ..models import IdWalk
from . import keys
from .records import text
from .redis import RedisStore, raises_store_unavailable


@dataclass(frozen=True)
class Event:
    """One write of a memory, as the feed recorded it."""

    stream_id: str  # "<milliseconds>-<sequence>", ordered
    type: str  # memory.created | memory.updated | memory.deleted | space.deleted
    memory_id: str | None
    source: str
    revision: int
    actor: str | None = None
    reason: str | None = None
    origin: dict[str, Any] | None = None
    author: str | None = None  # the user who wrote
    space: str | None = None  # space.deleted: the space

    @property
    def created_at(self) -> int:
        return int(self.stream_id.split("-", 1)[0]) // 1000


def _decode(stream_id: Any, fields: Any) -> Event:
    if isinstance(fields, dict):
        values = {text(k): text(v) for k, v in fields.items()}
    else:
        values = {text(k): text(v) for k, v in zip(fields[0::2], fields[1::2])}
    origin = json.loads(values["origin"]) if values.get("origin") else None
    return Event(stream_id=text(stream_id), type=values.get("type", ""), memory_id=values.get("memory_id"),
                 source=values.get("source", "api"), revision=int(values.get("revision") or 0),
                 actor=values.get("actor"), reason=values.get("reason"),
                 origin=origin if isinstance(origin, dict) else None, author=values.get("author"),
                 space=values.get("space"))


_FIRST, _LAST = "0-0", f"{2**64 - 1}-{2**64 - 1}"


@raises_store_unavailable
class EventStore:
    def __init__(self, redis_store: RedisStore) -> None:
        self._redis = redis_store

    def append(self, user_id: str, fields: dict[str, str], *, kept: int) -> None:
        """Add an entry that is no memory write (a space deleted) to a user's feed, trimmed as the write
        scripts trim it (`kept` 0: no feed)."""
        if kept > 0:
            self._redis.client.xadd(keys.memory_events(user_id), fields, maxlen=kept, approximate=True)

    def page(self, user_id: str, walk: IdWalk, *, count: int) -> list[Event]:
        """Up to `count` events in `walk`'s direction, strictly between its `above` and `below` stream
        ids (the feed's cursors)."""
        key = keys.memory_events(user_id)
        if walk.below == _FIRST or walk.above == _LAST:
            return []  # nothing lies below the first possible id, or above the last (Redis refuses the range)
        low = f"({walk.above}" if walk.above else "-"
        high = f"({walk.below}" if walk.below else "+"
        if walk.newest_first:
            entries = self._redis.client.xrevrange(key, high, low, count=count)
        else:
            entries = self._redis.client.xrange(key, low, high, count=count)
        return [_decode(stream_id, fields) for stream_id, fields in entries]
