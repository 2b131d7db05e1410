"""The activity feed: every create, update and delete of a user's memories, newest first.

The memory write scripts append to it in the same call as the write
(store/memory_lua.py), so it is complete; this reads it as an OpenAI list with
cursors. Event ids are `evt_` followed by the feed's own position
("<milliseconds>-<sequence>"), so a cursor keeps working after older entries are
trimmed away.
"""

from __future__ import annotations

import re
from typing import Any

from ..errors import InvalidRequest
from ..models import Page
from ..store.events import Event, EventStore
from ..validation import InputRules
from .pagination import cursor_walk

EVENT_PREFIX = "evt_"
_EVENT_ID = re.compile(r"evt_(\d{1,20})-(\d{1,20})")


def event_to_api(event: Event) -> dict[str, Any]:
    return {"object": "memory.event", "id": EVENT_PREFIX + event.stream_id, "type": event.type,
            "memory_id": event.memory_id, "revision": event.revision, "source": event.source,
            "actor": event.actor, "author": event.author, "reason": event.reason, "origin": event.origin,
            "space": event.space, "created_at": event.created_at}


class _ApiEvent:
    def __init__(self, event: Event) -> None:
        self.event = event

    def to_api(self) -> dict[str, Any]:
        return event_to_api(self.event)


_MAX_PART = 2**64 - 1  # a stream id is two unsigned 64-bit numbers


def _stream_id(value: Any, param: str) -> str:
    match = _EVENT_ID.fullmatch(value) if isinstance(value, str) else None
    if match is None or int(match.group(1)) > _MAX_PART or int(match.group(2)) > _MAX_PART:
        raise InvalidRequest(f"'{param}' must be an event id: 'evt_' followed by digits, '-' and digits.",
                             param=param, code="invalid_cursor")
    return f"{int(match.group(1))}-{int(match.group(2))}"


def _sort_key(stream_id: str) -> tuple[int, int]:
    ms, seq = stream_id.split("-")
    return int(ms), int(seq)


class EventService:
    def __init__(self, store: EventStore, rules: InputRules) -> None:
        self._store = store
        self._rules = rules

    def list(self, user_id: str, *, limit: int | None = None, order: str = "desc", after: str | None = None,
             before: str | None = None) -> Page:
        """One page of the feed, newest first by default, with OpenAI-style cursors (event ids)."""
        limit, order = self._rules.page(self._rules.default_page_size if limit is None else limit, order)
        after_id = _stream_id(after, "after") if after is not None else None
        before_id = _stream_id(before, "before") if before is not None else None
        if after_id is not None and before_id is not None:
            newest_first = order == "desc"
            a, b = _sort_key(after_id), _sort_key(before_id)
            if (b >= a) if newest_first else (b <= a):
                raise InvalidRequest("With both cursors the page is what lies between them: 'before' must lie "
                                     f"past 'after' in {order} order.", param="before", code="invalid_cursor_range")
        walk = cursor_walk(order, after_id, before_id)
        events = self._store.page(user_id, walk.walk, count=limit + 1)
        return walk.page([_ApiEvent(e) for e in events], limit)
