"""Server-sent events on the way out: the provider's events as received, our errors in OpenAI's shape
(chat completions' `data: {"error": ...}`, the Responses API's `error` event)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator

from ..errors import ApiError, render_error
from ..services.responses import StreamFailure
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



def responses_error_event(err: ApiError, sequence_number: int) -> bytes:
    """An error after a Responses stream has started, as OpenAI sends one (ResponseErrorEvent)."""
    _, body, _ = render_error(err)
    error = body["error"]
    data = {"type": "error", "code": error["code"], "message": error["message"], "param": error["param"],
            "sequence_number": sequence_number}
    return f"event: error\ndata: {_dumps(data)}\n\n".encode()


def responses_framed(events: Iterable[SSEEvent | StreamFailure]) -> Iterator[bytes]:
    """The bytes of a relayed Responses stream: each provider event unchanged, a failure as an error event."""
    for event in events:
        if isinstance(event, StreamFailure):
            yield responses_error_event(event.error, event.sequence_number)
        else:
            yield event.raw
