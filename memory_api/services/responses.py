"""OpenAI's Responses API with memory: the memory block goes into `instructions`.

The request is OpenAI's /v1/responses body plus our optional `memory`
({"inject", "max_words", "max_tokens", "scope", "mode"}); every other field,
`previous_response_id` and `store` included, goes to the provider untouched.
The provider keeps the thread (`previous_response_id`, or its `conversation`);
a response never carries the instructions of the one before, so each turn
injects the memories again, ranked on its own latest user input.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from .. import metrics
from ..errors import ApiError, BadGateway, InvalidRequest
from .chat import ChatOutcome, mid_stream_error
from .chat_request import parse_memory_options
from .context import Caps, ContextService
from .context_block import ContextSelection
from .conversations import message_text
from .message_shape import check_input_items
from .provider_api import ProviderApi
from .sse_events import SSEEvent
from .streams import StreamLimiter, StreamSlot
from .upstream import record_provider_error

log = logging.getLogger(__name__)

# After one of these the provider's stream is complete; an end before one is a broken stream.
TERMINAL_EVENT_TYPES = frozenset(("response.completed", "response.failed", "response.incomplete", "error"))
# Of those, the provider's own failures (counted as provider errors, as chat counts its error event).
FAILED_EVENT_TYPES = frozenset(("response.failed", "error"))


@dataclass
class ResponsesRequest:
    model: str
    stream: bool
    inject: bool
    memory_options: dict[str, Any]
    instructions: str | None
    query: str | None  # the latest user input's text: what memories are ranked against
    passthrough: dict[str, Any] = field(default_factory=dict)


def parse_responses_request(body: dict[str, Any], *, default_model: str) -> ResponsesRequest:
    """Check our fields and the few the memory block depends on; the rest is the provider's business."""
    body = dict(body)
    if "conversation_id" in body:
        raise InvalidRequest("'conversation_id' is for /v1/chat/completions; a response continues another "
                             "with 'previous_response_id'.", param="conversation_id", code="unknown_parameter")
    model = body.pop("model", None) or default_model
    if not isinstance(model, str):
        raise InvalidRequest("'model' must be a string.", param="model")
    stream = body.pop("stream", None)
    if stream is None:  # OpenAI reads an explicit null as absent
        stream = False
    if not isinstance(stream, bool):
        raise InvalidRequest("'stream' must be a boolean.", param="stream")
    instructions = body.pop("instructions", None)
    if instructions is not None and not isinstance(instructions, str):
        raise InvalidRequest("'instructions' must be a string.", param="instructions")
    items = body.get("input")
    check_input_items(items)
    inject, memory = parse_memory_options(body.pop("memory", None))
    if memory.get("capture"):
        # Capture reads a turn's messages and answer; Responses keeps them at the provider (previous_response_id).
        raise InvalidRequest("'memory.capture' is supported on /v1/chat/completions only; use POST "
                             "/v1/memory/extract with the conversation's messages.", param="memory.capture",
                             code="unsupported_parameter")
    return ResponsesRequest(model, stream, inject, memory, instructions, latest_user_input(items), body)


def latest_user_input(items: str | list | None) -> str | None:
    """The text of the latest user input: the whole `input` when it is a string, else the last user message."""
    if isinstance(items, str):
        return items or None
    for item in reversed(items or []):
        if isinstance(item, dict) and item.get("role") == "user" and item.get("type", "message") == "message":
            return message_text(item) or None
    return None


def instructions_with_memories(instructions: str | None, block: str) -> str | None:
    """The caller's instructions followed by the memory block (as chat appends it to the system message)."""
    if not block:
        return instructions
    return f"{instructions}\n\n{block}" if instructions else block


@dataclass(frozen=True)
class StreamFailure:
    """An error after a streamed response started, with the sequence number its error event takes."""

    error: ApiError
    sequence_number: int


@dataclass
class ResponsesStream:
    """The provider's events, passed on unchanged, then a StreamFailure if it broke off; `close`
    ends the provider call."""

    events: Iterator[SSEEvent | StreamFailure]
    close: Callable[[], None]
    outcome: ChatOutcome


class ResponsesService:
    def __init__(self, context: ContextService, provider: ProviderApi, streams: StreamLimiter) -> None:
        self._context = context
        self.provider = provider
        self._streams = streams

    def _prepared(self, user_id: str, request: ResponsesRequest) -> tuple[dict[str, Any], ContextSelection]:
        self.provider.ensure_responses()
        caps = self._context.caps(request.memory_options) if request.inject else Caps(0, 0)
        selection = self._context.build(user_id, model=request.model, caps=caps,
                                        scope=request.memory_options.get("scope"), query=request.query,
                                        spaces=request.memory_options.get("spaces"),
                                        mode=request.memory_options.get("mode"),
                                        times=self._context.rules.time_filters(request.memory_options,
                                                                               prefix="memory."))
        recorder = metrics.active()
        if recorder is not None:
            recorder.chat_injected(len(selection.memories))
        payload = {**request.passthrough, "model": request.model}
        instructions = instructions_with_memories(request.instructions, selection.text)
        if instructions is not None:
            payload["instructions"] = instructions
        return payload, selection

    def create(self, user_id: str, request: ResponsesRequest) -> tuple[dict[str, Any], ChatOutcome]:
        """A non-streamed response: (the provider's response + our `memory` object, what was injected)."""
        payload, selection = self._prepared(user_id, request)
        response, provider_headers = self.provider.create_response(payload)
        response["memory"] = selection.summary_api()
        return response, ChatOutcome(selection, None, provider_headers)

    def stream(self, user_id: str, request: ResponsesRequest, *, key_id: str) -> ResponsesStream:
        """A streamed response, holding one of the API key `key_id`'s stream slots until it ends
        (RateLimited when it has none left). Errors before the stream starts raise; later ones come
        as StreamFailure."""
        slot = self._streams.acquire(key_id)
        stack = contextlib.ExitStack()
        stack.callback(slot.release)
        try:
            payload, selection = self._prepared(user_id, request)
            events = stack.enter_context(self.provider.stream_response(payload))
        except BaseException:
            stack.close()
            raise
        return ResponsesStream(_relay(events, stack, slot, request.model), stack.close,
                               ChatOutcome(selection, None, events.headers))


def _relay(events, stack: contextlib.ExitStack, slot: StreamSlot,
           model: str) -> Iterator[SSEEvent | StreamFailure]:
    """Pass the provider's events on as they arrive; report a stream that ends before its last event.
    The last event's usage and any failure are counted in the metrics, as chat's are."""
    last_sequence = -1
    failure: ApiError | None = None
    with stack:
        try:
            for event in events:
                data = _event_data(event)
                kind, sequence = data.get("type"), data.get("sequence_number")
                last_sequence = sequence if isinstance(sequence, int) else last_sequence
                slot.keep_alive()
                yield event
                if kind in TERMINAL_EVENT_TYPES:
                    _record_end(model, kind, data)
                    return
            failure = BadGateway("The model provider's stream ended before it was complete.", code="upstream_error")
        except ApiError as err:
            failure = err
        except Exception as err:  # the provider's connection broke mid-stream
            failure = mid_stream_error(err)
        record_provider_error(model, failure.code)
        yield StreamFailure(failure, last_sequence + 1)


def _event_data(event: SSEEvent) -> dict[str, Any]:
    """An event's JSON object ({} for a comment, or data that is not a JSON object)."""
    if event.data is None:
        return {}
    try:
        data = json.loads(event.data)
    except json.JSONDecodeError:
        return {}
    return data if isinstance(data, dict) else {}


def _record_end(model: str, kind: str, data: dict[str, Any]) -> None:
    """Count a finished stream's tokens (its response's usage) or the provider's own failure event."""
    recorder = metrics.active()
    if recorder is None:
        return
    if kind in FAILED_EVENT_TYPES:
        recorder.provider_error(model, "upstream_error")
    response = data.get("response")
    if isinstance(response, dict):
        recorder.provider_usage(model, response.get("usage"))
