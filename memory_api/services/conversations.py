"""Conversation threads kept by the service, inside a token budget, with a rolling summary.

A client sends only its new message(s); the thread lives in Redis. When the
stored summary and turns exceed the budget, the oldest turns (all but the most
recent MEMORY_API_KEEP_RECENT) are folded by the summary model into a running
summary, which records how many messages it covers. A failed summary call
changes nothing: the turns stay, and the next request tries again.

Requests on one conversation are serialised by a lock in Redis (several
gunicorn workers share nothing else): a second request waits for the first to
finish, so turns never interleave and none is lost.
"""

from __future__ import annotations

import builtins
import contextlib
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from ..errors import ApiError, Conflict, InvalidRequest, NotFound
from ..ids import CONVERSATION_PREFIX, id_problem, is_conversation_id, new_conversation_id
from ..models import Page
from ..store.conversations import ConversationState, ConversationStore, LockLost, StoredMessage, encode_message
from ..tokens import count_tokens
from ..validation import InputRules, check_scope
from .pagination import check_cursor_range, cursor_walk

log = logging.getLogger(__name__)

# Per-message overhead of the chat format, as the OpenAI cookbook counts it.
MESSAGE_OVERHEAD_TOKENS = 4

SUMMARY_INSTRUCTIONS = (
    "You keep the running summary of a conversation between a user and an assistant. "
    "Merge the previous summary (if any) and the new turns into one updated summary of at most "
    "{max_words} words. Keep every name, decision, number, date, preference and open question; "
    "drop pleasantries. Write plain prose in the third person, with no preamble."
)


def message_text(message: dict[str, Any]) -> str:
    """The text of a chat message that counts toward its tokens (content parts, tool calls)."""
    content = message.get("content")
    parts: list[str] = []
    if isinstance(content, str):
        parts.append(content)
    elif isinstance(content, list):
        parts += [p.get("text", "") for p in content if isinstance(p, dict) and isinstance(p.get("text"), str)]
    # A request's messages are checked (services/message_shape.py), but a thread may hold turns stored
    # before that check: whatever their shape, reading them must not fail.
    calls = message.get("tool_calls")
    for call in calls if isinstance(calls, list) else []:
        fn = call.get("function") if isinstance(call, dict) else None
        if isinstance(fn, dict):
            parts.append(f"{fn.get('name', '')}({fn.get('arguments', '')})")
    return "\n".join(parts)


def message_tokens(message: dict[str, Any]) -> int:
    return count_tokens(message_text(message))


def check_conversation_id(value: object, *, param: str = "conversation_id") -> str:
    if not isinstance(value, str) or not is_conversation_id(value):
        raise InvalidRequest(
            f"Invalid conversation id {str(value)[:80]!r}: {id_problem(value, CONVERSATION_PREFIX)}. A "
            f"conversation id is '{CONVERSATION_PREFIX}' followed by 26 characters of Crockford base32.",
            param=param,
            code="invalid_id",
        )
    return value


def conversation_to_api(state: ConversationState, *, stored_messages: int | None = None,
                        include_messages: bool = True) -> dict[str, Any]:
    recent = len(state.messages) if stored_messages is None else stored_messages
    body: dict[str, Any] = {
        "id": state.id,
        "object": "conversation",
        "created_at": state.created_at,
        "updated_at": state.updated_at,
        "metadata": state.metadata,
        "scope": state.scope,
        "capture": state.capture,
        "summary": state.summary or None,
        "summarized_through": state.summarized_through,
        "message_count": state.summarized_through + recent,
    }
    if include_messages:
        message_tokens_total = sum(m.tokens + MESSAGE_OVERHEAD_TOKENS for m in state.messages)
        body["system"] = state.system
        body["messages"] = [{"seq": m.seq, "created_at": m.created_at, "token_count": m.tokens, **m.message}
                            for m in state.messages]
        body["token_count"] = {
            "summary": state.summary_tokens,
            "messages": message_tokens_total,
            "total": state.summary_tokens + message_tokens_total,
        }
    return body


@dataclass
class ThreadForPrompt:
    """What a chat request sends of its conversation: the summary and the turns that fit."""

    summary: str
    summarized_through: int
    messages: list[dict[str, Any]]


class ConversationService:
    def __init__(self, store: ConversationStore, upstream, settings, rules: InputRules = InputRules()) -> None:
        self._store = store
        self._upstream = upstream
        self._settings = settings
        self.rules = rules

    # --- CRUD ------------------------------------------------------------------

    def create(self, user_id: str, metadata: object = None, *, scope: object = None,
               conversation_id: str | None = None, capture: object = None) -> ConversationState:
        """A new, empty thread. With a scope, its chats inject global memories and that scope's; with
        `capture` true or false, its turns are captured or not unless a request says otherwise (None:
        the server's default). (`conversation_id` from an Idempotency-Key makes a retry a no-op.)"""
        if capture is not None and not isinstance(capture, bool):
            raise InvalidRequest("'capture' must be a boolean.", param="capture")
        cid = conversation_id or new_conversation_id()
        self._store.create(user_id, cid, self.rules.metadata(metadata), check_scope(scope), capture)
        return self.get(user_id, cid)

    def get(self, user_id: str, conversation_id: str) -> ConversationState:
        check_conversation_id(conversation_id)
        state = self._store.load(user_id, conversation_id)
        if state is None:
            raise NotFound(f"No conversation found with id '{conversation_id}'.", param="conversation_id",
                           code="conversation_not_found")
        return state

    def delete(self, user_id: str, conversation_id: str) -> None:
        check_conversation_id(conversation_id)
        if not self._store.delete(user_id, conversation_id):
            raise NotFound(f"No conversation found with id '{conversation_id}'.", param="conversation_id",
                           code="conversation_not_found")

    def list(self, user_id: str, *, limit: int | None = None, order: str = "desc", after: str | None = None,
             before: str | None = None) -> Page:
        limit, order = self.rules.page(self.rules.default_page_size if limit is None else limit, order)
        for name, value in (("after", after), ("before", before)):
            if value is not None:
                check_conversation_id(value, param=name)
        check_cursor_range(order, after, before)
        walk = cursor_walk(order, after, before)
        ids = walk.page(self._store.page_ids(user_id, walk.walk, count=limit + 1), limit)
        items = [_ListedConversation(state, count) for state, count in self._store.load_many(user_id, ids.items)]
        return Page(items=items, has_more=ids.has_more)

    # --- working on a thread -------------------------------------------------------

    @contextlib.contextmanager
    def locked(self, user_id: str, conversation_id: str) -> Iterator[ThreadLock]:
        """Hold the conversation's lock, waiting for another request to finish (409 after a while)."""
        ttl_ms = int(self._settings.request_lease_seconds * 1000)
        deadline = time.monotonic() + self._settings.conversation_lock_seconds
        delay = 0.01
        while True:
            token = self._store.try_lock(user_id, conversation_id, ttl_ms)
            if token:
                break
            if time.monotonic() > deadline:
                raise Conflict(
                    f"Conversation '{conversation_id}' is busy with another request; retry when it is done.",
                    param="conversation_id",
                    code="conversation_busy",
                )
            time.sleep(delay)
            delay = min(delay * 2, 0.2)
        lock = ThreadLock(self._store, user_id, conversation_id, token, ttl_ms)
        try:
            yield lock
        finally:
            lock.release()

    def prepare_thread(self, user_id: str, state: ConversationState, lock: ThreadLock,
                       new_messages: builtins.list[dict[str, Any]]) -> ThreadForPrompt:
        """The summary and turns to send, folding old turns into the summary if over budget."""
        budget = self._settings.conversation_max_tokens
        stored = list(state.messages)
        new_cost = sum(message_tokens(m) + MESSAGE_OVERHEAD_TOKENS for m in new_messages)
        summary, summary_tokens, through = state.summary, state.summary_tokens, state.summarized_through

        def total(turns: list[StoredMessage]) -> int:
            return summary_tokens + sum(m.tokens + MESSAGE_OVERHEAD_TOKENS for m in turns) + new_cost

        keep = max(self._settings.keep_recent - len(new_messages), 0)
        fold = stored[: max(len(stored) - keep, 0)]
        if total(stored) > budget and fold:
            try:
                new_summary = self._summarize(summary, fold)
                new_tokens = count_tokens(new_summary)
                if self._store.apply_summary(user_id, state.id, lock.token, based_on=through, folded=len(fold),
                                             summary=new_summary, summary_tokens=new_tokens):
                    summary, summary_tokens = new_summary, new_tokens
                    through += len(fold)
                    stored = stored[len(fold):]
            except ApiError as err:
                # Nothing was changed in Redis: the turns stay and the next request tries again.
                log.warning("summary of %s failed, turns kept: %s", state.id, err.message)
        # Still over budget (summary failed, or long recent turns): leave the oldest turns out
        # of this prompt only; they stay stored.
        while stored and total(stored) > budget:
            stored = stored[1:]
        return ThreadForPrompt(summary=summary, summarized_through=through, messages=[m.message for m in stored])

    def _summarize(self, previous: str, turns: builtins.list[StoredMessage]) -> str:
        lines = [f"{m.message.get('role', 'user')}: {message_text(m.message)}" for m in turns]
        text = (f"Previous summary:\n{previous}\n\n" if previous else "") + "New turns:\n" + "\n".join(lines)
        instructions = SUMMARY_INSTRUCTIONS.format(max_words=self._settings.summary_max_words)
        return self._upstream.summarize(instructions, text)

    def record_turn(self, user_id: str, conversation_id: str, lock: ThreadLock,
                    messages: builtins.list[dict[str, Any]], system: str | None) -> None:
        """Append the request's messages and the reply, atomically, if we still hold the lock."""
        now = int(time.time())
        records = [encode_message(m, message_tokens(m), now) for m in messages]
        try:
            if self._store.append(user_id, conversation_id, lock.token, records, system) == 0:
                raise NotFound(f"Conversation '{conversation_id}' was deleted during the request.",
                               param="conversation_id", code="conversation_not_found")
        except LockLost:
            raise Conflict(
                f"Conversation '{conversation_id}' was taken over by another request; this turn was not saved.",
                param="conversation_id", code="conversation_busy",
            ) from None


class _ListedConversation:
    """A conversation in a list page: no messages, just counts."""

    def __init__(self, state: ConversationState, stored_messages: int) -> None:
        self.state = state
        self.stored = stored_messages

    def to_api(self) -> dict[str, Any]:
        return conversation_to_api(self.state, stored_messages=self.stored, include_messages=False)


class ThreadLock:
    def __init__(self, store: ConversationStore, user_id: str, conversation_id: str, token: str, ttl_ms: int):
        self._store = store
        self.user_id = user_id
        self.conversation_id = conversation_id
        self.token = token
        self._ttl_ms = ttl_ms
        self._extended_at = time.monotonic()
        self._released = False

    def keep_alive(self) -> None:
        """Extend the lock during a long stream (at most every few seconds)."""
        now = time.monotonic()
        if now - self._extended_at > 5:
            self._store.extend_lock(self.user_id, self.conversation_id, self.token, self._ttl_ms)
            self._extended_at = now

    def release(self) -> None:
        if not self._released:
            self._released = True
            try:
                self._store.release_lock(self.user_id, self.conversation_id, self.token)
            except Exception:  # the lock expires by itself; never mask the request's own outcome
                log.warning("could not release the lock of %s", self.conversation_id, exc_info=True)
