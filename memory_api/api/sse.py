"""Server-sent events on the way out: the provider's events as received, our errors in OpenAI's shape."""

from __future__ import annotations

import json
from typing import Iterable, Iterator

from ..errors import ApiError, render_error
from ..services.sse_events import SSEEvent

_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def error_event(err: ApiError) -> bytes:
    """An error after a stream has started, as OpenAI sends one: `data: {"error": {...}}`."""
    _, body, _ = render_error(err)
    return f"data: {_dumps(body)}\n\n".encode()


def framed(events: Iterable[SSEEvent | ApiError]) -> Iterator[bytes]:
    """The bytes of a relayed stream: each provider event unchanged, each failure as an error event."""
    for event in events:
        yield error_event(event) if isinstance(event, ApiError) else event.raw
