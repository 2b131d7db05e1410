"""Chat completions with memory: inject the user's memories, keep the conversation, call the model.

The request and where things go in the prompt: services/chat_request.py.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from .. import metrics
from ..errors import ApiError, BadGateway, GatewayTimeout, InvalidRequest
from .capture_jobs import CaptureJobs, TurnToCapture, turn_messages
from .chat_request import (
    NEW_CONVERSATION,
    SYSTEM_ROLES,
    ChatRequest,
    inject_into_messages,
    latest_user_text,
    render_summary,
)
from .chat_request import system_text as joined_system_text
from .context import Caps, ContextService
from .context_block import ContextSelection
from .conversations import ConversationService, ThreadLock
from .sse_events import SSEEvent
from .streams import StreamLimiter, StreamSlot
from .upstream import Upstream, map_provider_error, record_provider_error

log = logging.getLogger(__name__)

@dataclass
class PreparedChat:
    payload: dict[str, Any]
    selection: ContextSelection
    conversation_id: str | None = None
    lock: ThreadLock | None = None
    new_messages: list[dict[str, Any]] = field(default_factory=list)
    system: str | None = None
    capture_job: str | None = None  # the id the turn's capture job gets once the turn is answered
    turn: int | None = None  # in a conversation: how many messages came before this turn
    scope: str | None = None  # the scope memories come from (and captured ones go to) besides the global ones


@dataclass(frozen=True)
class ChatOutcome:
    """What a chat request injected, and in which conversation (reported to the client)."""

    selection: ContextSelection
    conversation_id: str | None
    provider_headers: Mapping[str, str] = field(default_factory=dict)  # the provider's response headers
    capture_job: str | None = None  # the capture job queued for this turn (when capture is on)


@dataclass
class ChatStream:
    """A streamed answer: the provider's events (passed on unchanged) and, after the stream has
    started, an ApiError for a failure; `close` ends the provider call and releases the thread."""

    events: Iterator[SSEEvent | ApiError]
    close: Any
    outcome: ChatOutcome


class ChatService:
    def __init__(self, settings, context: ContextService, conversations: ConversationService,
                 upstream: Upstream, streams: StreamLimiter, capture: CaptureJobs | None = None) -> None:
        self._settings = settings
        self._capture = capture
        self._context = context
        self._conversations = conversations
        self.upstream = upstream
        self._streams = streams

    def _select(self, user_id: str, request: ChatRequest, scope: str | None,
                summary: str | None = None) -> ContextSelection:
        """The memories for this turn: those relevant to the latest user message with the conversation's
        summary (what the thread is about), most relevant first."""
        caps = self._context.caps(request.memory_options) if request.inject else Caps(0, 0)
        selection = self._context.build(user_id, model=request.model, caps=caps, scope=scope,
                                        spaces=request.memory_options.get("spaces"),
                                        query=latest_user_text(request.messages), background=summary or None,
                                        mode=request.memory_options.get("mode"),
                                        times=self._context.rules.time_filters(request.memory_options,
                                                                               prefix="memory."))
        recorder = metrics.active()
        if recorder is not None:
            recorder.chat_injected(len(selection.memories))
        return selection

    @contextlib.contextmanager
    def _prepared(self, user_id: str, request: ChatRequest) -> Iterator[PreparedChat]:
        self.upstream.ensure_configured()
        scope = request.memory_options.get("scope")
        job = self._capture_job(user_id, request.memory_options.get("capture"), None)
        if request.conversation_id is None:
            selection = self._select(user_id, request, scope)
            messages = inject_into_messages(request.messages, selection.text)
            yield PreparedChat(self._payload(request, messages), selection, capture_job=job,
                               new_messages=list(request.messages), scope=scope)
            return
        cid = request.conversation_id
        if cid == NEW_CONVERSATION:
            cid = self._conversations.create(user_id, scope=scope).id
        with self._conversations.locked(user_id, cid) as lock:
            state = self._conversations.get(user_id, cid)
            if scope is not None and state.scope is not None and scope != state.scope:
                raise InvalidRequest(
                    f"Conversation '{cid}' belongs to scope '{state.scope}', not '{scope}'.",
                    param="memory.scope", code="scope_mismatch",
                )
            selection = self._select(user_id, request, state.scope or scope, state.summary)
            job = self._capture_job(user_id, request.memory_options.get("capture"), state.capture)
            system = joined_system_text(request.messages)
            new_messages = [m for m in request.messages if m.get("role") not in SYSTEM_ROLES]
            thread = self._conversations.prepare_thread(user_id, state, lock, new_messages)
            system_text = system if system is not None else state.system
            extra = "\n\n".join(t for t in (selection.text, render_summary(thread)) if t)
            base = [{"role": "system", "content": system_text}] if system_text else []
            messages = inject_into_messages([*base, *thread.messages, *new_messages], extra)
            yield PreparedChat(self._payload(request, messages), selection, cid, lock, new_messages, system,
                               capture_job=job, turn=state.summarized_through + len(state.messages),
                               scope=state.scope or scope)

    def _capture_job(self, user_id: str, requested: bool | None, conversation_default: bool | None) -> str | None:
        """The id of this turn's capture job, if it is to be captured: the request says, else its
        conversation, else the user, else the server."""
        if self._capture is None:
            return None
        wanted = self._capture.wanted(user_id, requested if requested is not None else conversation_default)
        return self._capture.new_id() if wanted else None

    @staticmethod
    def _payload(request: ChatRequest, messages: list[dict[str, Any]]) -> dict[str, Any]:
        return {**request.passthrough, "model": request.model, "messages": messages}

    def complete(self, user_id: str, request: ChatRequest, *, actor: str | None = None
                 ) -> tuple[dict[str, Any], ChatOutcome]:
        """A non-streamed completion: (the provider's response + our `memory` object, what was injected).
        With capture on, the turn is queued for capture once answered (`actor`: the API key's id)."""
        with self._prepared(user_id, request) as prepared:
            response, provider_headers = self.upstream.complete_with_headers(prepared.payload)
            if prepared.lock is not None or prepared.capture_job:
                reply = _reply_message(response)
            if prepared.lock is not None:
                self._conversations.record_turn(user_id, prepared.lock.conversation_id, prepared.lock,
                                                [*prepared.new_messages, reply], prepared.system)
            self._queue_capture(user_id, prepared, reply if prepared.capture_job else None, actor)
            response["memory"] = prepared.selection.summary_api()
            if prepared.capture_job:
                response["memory"]["capture_job"] = prepared.capture_job
            if prepared.conversation_id:
                response["conversation_id"] = prepared.conversation_id
            return response, ChatOutcome(prepared.selection, prepared.conversation_id, provider_headers,
                                         prepared.capture_job)

    def _queue_capture(self, user_id: str, prepared: PreparedChat, reply: dict[str, Any] | None,
                       actor: str | None) -> None:
        """Hand an answered turn to capture: one queue push, never a wait for the model."""
        if not prepared.capture_job or self._capture is None:
            return
        self._capture.enqueue(prepared.capture_job, TurnToCapture(
            user_id, turn_messages(prepared.new_messages, reply), prepared.conversation_id, prepared.turn, actor,
            prepared.scope))

    def stream(self, user_id: str, request: ChatRequest, *, key_id: str) -> ChatStream:
        """A streamed completion, holding one of the API key `key_id`'s stream slots until it ends
        (RateLimited when it has none left). Errors before the stream starts raise; later ones come
        as events."""
        slot = self._streams.acquire(key_id)
        stack = contextlib.ExitStack()
        stack.callback(slot.release)
        try:
            prepared = stack.enter_context(self._prepared(user_id, request))
            events = stack.enter_context(self.upstream.stream(prepared.payload))
        except BaseException:
            stack.close()
            raise
        return ChatStream(self._relay(user_id, prepared, events, stack, slot, key_id), stack.close,
                          ChatOutcome(prepared.selection, prepared.conversation_id, events.headers,
                                      prepared.capture_job))

    def _relay(self, user_id: str, prepared: PreparedChat, events: Iterable[SSEEvent],
               stack: contextlib.ExitStack, slot: StreamSlot, key_id: str | None) -> Iterator[SSEEvent | ApiError]:
        """Pass the provider's events on as they arrive; save the turn when the stream completes."""
        reply = _ReplyAccumulator()
        model = prepared.payload.get("model")
        try:
            with stack:
                try:
                    for event in events:
                        if event.data is not None and event.data.strip() == "[DONE]":
                            _record_stream_usage(model, reply.usage)
                            if prepared.lock is not None and not reply.failed:
                                self._conversations.record_turn(
                                    user_id, prepared.lock.conversation_id, prepared.lock,
                                    [*prepared.new_messages, reply.message()], prepared.system)
                            if not reply.failed:
                                self._queue_capture(user_id, prepared, reply.message(), key_id)
                            yield event
                            return
                        if event.data is not None:
                            reply.add(event.data)
                            if prepared.lock is not None:
                                prepared.lock.keep_alive()
                            slot.keep_alive()
                        yield event
                    # reply.failed: the provider's own error event stands
                    failure: ApiError | None = None if reply.failed else BadGateway(
                        "The model provider's stream ended before it was complete.", code="upstream_error")
                except ApiError as err:
                    failure = err
                except Exception as err:  # the provider's connection broke mid-stream
                    failure = mid_stream_error(err)
                if failure is not None or reply.failed:
                    record_provider_error(model, failure.code if failure is not None else "upstream_error")
                if failure is not None:
                    yield failure
        except GeneratorExit:
            log.info("client left a stream early; the conversation is unchanged")
            raise


def _record_stream_usage(model: object, usage: object) -> None:
    recorder = metrics.active()
    if recorder is not None:
        recorder.provider_usage(model, usage)


def mid_stream_error(err: Exception) -> ApiError:
    """Our error for an exception raised while a provider stream was being read."""
    # The SDK's HTTP library (httpx or httpx2) raises its own ReadTimeout/...Timeout classes.
    if isinstance(err, TimeoutError) or type(err).__name__.endswith("Timeout"):
        return GatewayTimeout("The model provider stopped sending in the middle of the answer.")
    try:
        return map_provider_error(err)
    except Exception:
        log.warning("stream from the model provider broke: %r", err)
        return BadGateway("The model provider's stream broke off.", code="upstream_error")


def _reply_message(response: dict[str, Any]) -> dict[str, Any]:
    try:
        message = response["choices"][0]["message"]
    except (KeyError, IndexError, TypeError):
        raise BadGateway("The model provider returned no message.", code="upstream_error") from None
    kept = {k: message[k] for k in ("role", "content", "tool_calls", "refusal", "name") if message.get(k) is not None}
    kept.setdefault("role", "assistant")
    kept.setdefault("content", None)
    return kept


class _ReplyAccumulator:
    """Rebuilds the assistant message from streamed deltas (first choice)."""

    def __init__(self) -> None:
        self.content: list[str] = []
        self.tool_calls: dict[int, dict[str, Any]] = {}
        self.failed = False
        self.usage: dict[str, Any] | None = None  # with stream_options.include_usage: the last chunk's

    def add(self, data: str) -> None:
        try:
            chunk = json.loads(data)
        except json.JSONDecodeError:
            return
        if not isinstance(chunk, dict):
            return
        if "error" in chunk:
            self.failed = True
            return
        if isinstance(chunk.get("usage"), dict):
            self.usage = chunk["usage"]
        for choice in chunk.get("choices") or []:
            if not isinstance(choice, dict) or choice.get("index", 0) != 0:
                continue
            delta = choice.get("delta") or {}
            if isinstance(delta.get("content"), str):
                self.content.append(delta["content"])
            for call in delta.get("tool_calls") or []:
                slot = self.tool_calls.setdefault(call.get("index", 0),
                                                  {"id": None, "type": "function",
                                                   "function": {"name": "", "arguments": ""}})
                if call.get("id"):
                    slot["id"] = call["id"]
                fn = call.get("function") or {}
                slot["function"]["name"] += fn.get("name") or ""
                slot["function"]["arguments"] += fn.get("arguments") or ""

    def message(self) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": "".join(self.content) or None}
        if self.tool_calls:
            message["tool_calls"] = [self.tool_calls[i] for i in sorted(self.tool_calls)]
        return message


