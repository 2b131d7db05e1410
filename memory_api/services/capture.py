"""Automatic memory: a model reads a conversation and proposes what to remember, update or forget.

The model sees the conversation and the user's memories most similar to it
(found by the same search as everything else, so another user's memories are
never candidates), and answers with operations in a JSON schema: add, update
or delete (naming one of the candidates), or none, each with a one-line
reason, the date it happened, the date it stops mattering, and the candidate
a new fact supersedes. The model is told the conversation's date, so "last
Saturday" is stored as a date. An answer that does not fit the schema, or names a memory it was not
shown, changes nothing: it is logged and reported, never half applied.

Applying them respects the user's word: an update or delete of a memory whose
latest version came from the API, MCP or an import becomes a pending
suggestion (accepted or dismissed through the API) unless
MEMORY_API_CAPTURE_MAY_EDIT_USER_MEMORIES is on. Every change the service
makes has source `auto` and its reason, so history and the activity feed
show why it happened, and `revert` undoes it.

Time: a fact that ends an automatic memory (moved, changed job) is added with
`supersedes` naming it, and the old one gets a `valid_until` instead of being
deleted: the past stays in history and search, out of the injected block. When
the old memory is the user's own, ending it is a suggestion (action
`supersede`). A fact with a date after which it stops mattering (an
appointment) gets `expires_at`: the end of that day, UTC.
"""

from __future__ import annotations

import datetime
import json
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, cast

from ..errors import ApiError, BadGateway, NotFound
from ..ids import MEMORY_PREFIX, derived_id
from ..models import Memory, Provenance
from ..store.suggestions import SuggestionStore
from ..validation import check_memory_id, check_scope, check_text, check_time
from .capture_prompt import (
    ACTIONS,
    INSTRUCTIONS,
    RESPONSE_FORMAT,
    conversation_day,
    conversation_text,
    dated,
)
from .capture_screen import screening_reason
from .chat_request import parse_chat_request
from .memories import MemoryService
from .search import SearchService
from .suggestions import SuggestionService

log = logging.getLogger(__name__)

MAX_OPERATIONS = 20
MAX_REASON_CHARS = 300
DAY = 86_400
@dataclass(frozen=True)
class Operation:
    """One change the model proposed."""

    action: str
    reason: str
    memory_id: str | None = None
    content: str | None = None
    version: str | None = None  # update/delete: the version of the memory the model was shown
    occurred_at: int | None = None  # add: when it happened (the model's date, else when it was said)
    expires_at: int | None = None  # add: when it stops mattering (the end of the model's day, UTC)
    supersedes: str | None = None  # add: the candidate it ends (that one gets valid_until)
    supersedes_version: str | None = None  # the version of that candidate the model was shown

    def to_api(self) -> dict[str, Any]:
        return {"action": self.action, "memory_id": self.memory_id, "content": self.content, "reason": self.reason,
                "occurred_at": self.occurred_at, "expires_at": self.expires_at, "supersedes": self.supersedes}

    def to_job(self) -> dict[str, Any]:
        return {**self.to_api(), "version": self.version, "supersedes_version": self.supersedes_version}

    @classmethod
    def from_job(cls, data: dict[str, Any]) -> Operation:
        return cls(data["action"], data["reason"], data.get("memory_id"), data.get("content"), data.get("version"),
                   data.get("occurred_at"), data.get("expires_at"), data.get("supersedes"),
                   data.get("supersedes_version"))


@dataclass
class Outcome:
    """What became of one operation: applied, suggested (the user's memory: they decide) or skipped."""

    operation: Operation
    status: str
    memory: Memory | None = None
    suggestion_id: str | None = None
    detail: str | None = None

    def to_api(self) -> dict[str, Any]:
        return {**self.operation.to_api(), "status": self.status,
                "memory": self.memory.to_api() if self.memory else None,
                "suggestion_id": self.suggestion_id, "detail": self.detail}


class OperationResult(Protocol):
    """What became of one operation: an Outcome, or the one an earlier attempt at a capture job recorded
    (capture_jobs.FinishedOperation)."""

    @property
    def operation(self) -> Operation: ...

    @property
    def status(self) -> str | None: ...

    def to_api(self) -> dict[str, Any]: ...


@dataclass
class Extraction:
    operations: list[Operation]
    outcomes: list[OperationResult] = field(default_factory=list)
    applied: bool = False
    usage: dict[str, Any] | None = None
    scope: str | None = None  # where what it adds goes (None: global)
    at: int | None = None  # the conversation's time (Unix seconds): what its relative dates mean

    def to_api(self) -> dict[str, Any]:
        return {"object": "memory.extraction", "applied": self.applied,
                "operations": [o.to_api() for o in self.operations],
                "results": [o.to_api() for o in self.outcomes] if self.applied else None}


def day_start(value: Any, *, what: str) -> int | None:
    """A model's "YYYY-MM-DD" (or null) as the Unix time its day begins, UTC; ValueError otherwise."""
    if value is None:
        return None
    try:
        day = datetime.date.fromisoformat(value) if isinstance(value, str) and len(value) == 10 else None
    except ValueError:
        day = None
    if day is None or day.year < 1970:
        raise ValueError(f"{what} is not a date as YYYY-MM-DD: {value!r}")
    return int(datetime.datetime(day.year, day.month, day.day, tzinfo=datetime.timezone.utc).timestamp())


def parse_operations(answer: Any, candidates: dict[str, Memory], rules, *, at: int | None = None) -> list[Operation]:
    """The model's operations, checked; ValueError (nothing may be applied) if any does not fit. `at`: the
    conversation's time, an added fact's occurred_at when the model gives no date of its own."""
    if not isinstance(answer, dict) or not isinstance(answer.get("operations"), list):
        raise ValueError("the answer is not an object with an 'operations' array")
    if len(answer["operations"]) > MAX_OPERATIONS:
        raise ValueError(f"more than {MAX_OPERATIONS} operations")
    operations = []
    for i, item in enumerate(answer["operations"]):
        if not isinstance(item, dict) or item.get("action") not in ACTIONS:
            raise ValueError(f"operation {i} has no valid action")
        try:  # the reason is shown to the user (history, feed): the same rules as any text we store
            reason = check_text(" ".join(str(item.get("reason")).split())[:MAX_REASON_CHARS]
                                if isinstance(item.get("reason"), str) else item.get("reason"),
                                param="reason", max_chars=MAX_REASON_CHARS, strip=True)
        except ApiError:
            raise ValueError(f"operation {i} gives no usable reason") from None
        action, memory_id, content = item["action"], item.get("memory_id"), item.get("content")
        if action in ("update", "delete") and memory_id not in candidates:
            raise ValueError(f"operation {i} names a memory it was not shown: {memory_id!r}")
        if action in ("add", "update"):
            try:
                content = rules.content(content)
            except ApiError as err:
                raise ValueError(f"operation {i}: {err.message}") from None
        if action == "none":
            continue
        # Absent (an older prompt's answer) reads as null.
        occurred_at = day_start(item.get("occurred_on"), what=f"operation {i}'s occurred_on")
        expires_on = day_start(item.get("expires_on"), what=f"operation {i}'s expires_on")
        superseded = item.get("supersedes")
        if superseded is not None and (action != "add" or superseded not in candidates):
            raise ValueError(f"operation {i} supersedes a memory it was not shown, or is not an add: {superseded!r}")
        # An update or a delete names one of the candidates (checked above): mypy cannot narrow by `in`.
        shown = candidates[cast(str, memory_id)] if action != "add" else None
        old = candidates[superseded] if superseded is not None else None
        if action != "add":
            operations.append(Operation(action, reason, shown.id if shown else None,
                                        content if action != "delete" else None, shown.version if shown else None))
            continue
        operations.append(Operation(
            action, reason, None, content,
            occurred_at=occurred_at if occurred_at is not None else at,
            expires_at=expires_on + DAY if expires_on is not None else None,  # the end of that day
            supersedes=old.id if old else None, supersedes_version=old.version if old else None))
    return operations


class CaptureService:
    def __init__(self, upstream, memories: MemoryService, search: SearchService, suggestions: SuggestionStore,
                 *, model: str, candidates: int, may_edit_user_memories: bool, max_messages: int) -> None:
        self._upstream = upstream
        self._memories = memories
        self._search = search
        self.suggestions = SuggestionService(memories, suggestions)  # what capture may not do itself
        self.model = model
        self.candidates = candidates
        self.may_edit_user_memories = may_edit_user_memories
        self.max_messages = max_messages  # a conversation to extract from, as a chat request: at most these

    def extract(self, user_id: str, messages: Any, *, model: str | None = None, scope: str | None = None,
                occurred_at: Any = None, apply: bool = False, by: Provenance) -> Extraction:
        """The extract use case, whichever door asks: check the conversation (the messages of a chat
        request), the scope and the conversation's time (`occurred_at`, Unix seconds; None: now), ask the
        capture model what it means for the user's memories (`propose`), and with `apply`, carry that out
        as `by` (`apply`)."""
        request = parse_chat_request({"messages": messages, "model": model}, default_model=self.model,
                                     max_messages=self.max_messages)
        at = check_time(occurred_at, param="occurred_at")
        extraction = self.propose(user_id, request.messages, model=model, scope=check_scope(scope), at=at)
        if apply:
            self.apply(user_id, extraction, by)
        return extraction

    def propose(self, user_id: str, messages: list[dict[str, Any]], *, model: str | None = None,
                scope: str | None = None, at: int | None = None) -> Extraction:
        """Ask the capture model what this conversation means for the user's memories. With a `scope` (a
        scoped conversation's, or the chat's memory.scope), the candidates are the global memories and that
        scope's, as chat injects them, never another scope's; what it adds goes into that scope. `at`: when
        the conversation took place (None: now), the date the model resolves relative ones against."""
        self._upstream.ensure_configured()
        at = int(time.time()) if at is None else at
        text = conversation_text(messages)
        if not text:
            return Extraction([], at=at)
        # The default mode: by meaning where it is available, so "I stopped eating meat" finds "I eat meat".
        mode = self._search.semantic.mode(None)
        scopes: list[str | None] = [None] if scope is None else [None, scope]  # what a chat in that scope would inject
        found = self._search.ranked(user_id, text, limit=self.candidates, mode=mode, scopes=scopes) \
            if self.candidates else []
        candidates = {f.memory.id: f.memory for f in found}
        shown = "\n".join(f"- {m.id}{dated(m)}: {' '.join(m.content.split())}"
                          for m in candidates.values()) or "(none)"
        response = self._upstream.complete({
            "model": model or self.model,
            "messages": [{"role": "system", "content": INSTRUCTIONS},
                         {"role": "user", "content": f"Conversation date: {conversation_day(at)}\n\n"
                                                     f"Existing memories:\n{shown}\n\n"
                                                     f"Conversation (JSON):\n{text}"}],
            "response_format": RESPONSE_FORMAT,
            "temperature": 0,
        })
        try:
            answer = json.loads(response["choices"][0]["message"]["content"])
            operations = parse_operations(answer, candidates, self._memories.rules, at=at)
        except (KeyError, IndexError, TypeError, ValueError) as err:
            log.warning("capture: the model's answer was not usable, nothing changed: %s", err)
            raise BadGateway("The capture model's answer did not fit the memory operations schema; nothing "
                             f"was changed ({err}).", code="invalid_extraction") from None
        return Extraction(operations, usage=response.get("usage") if isinstance(response, dict) else None,
                          scope=scope, at=at)

    def apply(self, user_id: str, extraction: Extraction, by: Provenance, *, job_id: str | None = None,
              done: Mapping[int, OperationResult] | None = None, on_outcome=None) -> Extraction:
        """Carry out the operations with source `auto` (`by` gives the conversation turn and actor).

        With `job_id`, the ids of what it creates (memories, suggestions) derive from the job and the
        operation's place, so a job applied again after a crash creates each of them once; an update or
        delete is made only at the version the model was shown, so it is not made twice either (and
        never over an edit the user made meanwhile). `done`: outcomes of operations an earlier attempt
        finished (not done again, so a memory the user deleted since does not come back); `on_outcome(i,
        outcome)` is told of each one finished now. A failure that may pass (a provider or Redis away)
        raises, for the job to be tried again; an expected refusal (a duplicate, a full quota, a memory
        changed or gone) skips that operation."""
        outcomes: list[OperationResult] = []
        for i, op in enumerate(extraction.operations):
            if done and i in done:
                outcomes.append(done[i])
                continue
            outcome = self._apply_one(user_id, op, by, job_id and f"{job_id}/{i}", extraction.scope)
            if on_outcome is not None:
                on_outcome(i, outcome)
            outcomes.append(outcome)
        extraction.outcomes = outcomes
        extraction.applied = True
        return extraction

    def _apply_one(self, user_id: str, op: Operation, by: Provenance, seed: str | None,
                   scope: str | None) -> Outcome:
        auto = Provenance(source="auto", actor=by.actor, reason=op.reason, conversation_id=by.conversation_id,
                          turn=by.turn, author=by.author)
        try:
            if op.action == "add":
                return self._add(user_id, op, auto, seed, scope)
            # An update or a delete names a memory: checked here as get() would (400 invalid_id: skipped).
            memory_id = check_memory_id(op.memory_id)
            target = self._memories.get(user_id, memory_id)
            screened = screening_reason(op.content) if op.action == "update" and op.content else None
            held = f"not written by capture: {screened}; suggested to the user" if screened is not None else \
                "the user wrote this memory: proposed, not applied" if target.source != "auto" and \
                not self.may_edit_user_memories else None  # a screened change: whoever wrote the memory
            if held is not None:
                suggestion_id = self.suggestions.propose_change(user_id, op, target, auto, seed)
                return Outcome(op, "suggested", target, suggestion_id, held)
            expected = [op.version or target.version]  # a user's edit since the model saw it wins
            if op.action == "update":
                return Outcome(op, "applied", self._memories.update(user_id, memory_id, {"content": op.content},
                                                                     expected_versions=expected, by=auto))
            return Outcome(op, "applied", self._memories.delete(user_id, memory_id, expected_versions=expected,
                                                                 by=auto))
        except ApiError as err:
            if err.status >= 500 or err.status == 429:
                raise  # may pass: the job is tried again, and this operation with it
            # a duplicate, a full quota, too many suggestions, a memory changed or gone meanwhile
            log.info("capture: %s skipped for %s: %s", op.action, user_id, err.code)
            return Outcome(op, "skipped", detail=f"{err.code}: {err.message}")

    def _add(self, user_id: str, op: Operation, auto: Provenance, seed: str | None, scope: str | None) -> Outcome:
        """A new fact; when it supersedes a candidate, that one ends (valid_until) where the new one begins,
        or, if the user wrote it, a suggestion says so. A retried job finds its memory stored (derived id)
        and still ends the old one."""
        if op.expires_at is not None and op.expires_at <= time.time():
            return Outcome(op, "skipped", detail="expired: the day it mattered until has passed")
        if (why := screening_reason(op.content or "")) is not None:
            return Outcome(op, "suggested", None, self.suggestions.propose_new(user_id, op, auto, why, scope, seed),
                           f"not stored by capture: {why}; suggested to the user")
        memory_id = derived_id(MEMORY_PREFIX, seed.split("/")[0], seed) if seed else None
        times = {"occurred_at": op.occurred_at, "expires_at": op.expires_at}
        new = self._memories.create(user_id, op.content, by=auto, scope=scope, memory_id=memory_id, times=times,
                                    supersedes=op.supersedes).memory
        if op.supersedes is None:
            return Outcome(op, "applied", new)
        try:
            old = self._memories.get(user_id, op.supersedes)
        except NotFound:  # deleted since the model saw it: nothing left to end
            return Outcome(op, "applied", new, detail=f"{op.supersedes} is gone")
        ends = max(new.occurred_at or new.updated_at, old.occurred_at or 0)
        if old.valid_until is not None and old.valid_until <= ends:
            return Outcome(op, "applied", new, detail=f"{old.id} had already ended")
        ended = Provenance(source="auto", actor=auto.actor, reason=f"superseded by {new.id}: {op.reason}",
                           conversation_id=auto.conversation_id, turn=auto.turn, author=auto.author)
        if old.source != "auto" and not self.may_edit_user_memories:
            proposal = Operation("supersede", op.reason, old.id, None, old.version)
            suggestion_id = self.suggestions.propose_change(user_id, proposal, old, ended, seed,
                                          extra={"valid_until": ends, "superseded_by": new.id})
            return Outcome(op, "applied", new, suggestion_id,
                           f"the user wrote {old.id}: ending it is suggested, not applied")
        try:  # at the version the model was shown: a user's edit since then wins
            self._memories.update(user_id, old.id, {"valid_until": ends},
                                  expected_versions=[op.supersedes_version or old.version], by=ended)
        except ApiError as err:
            if err.status >= 500 or err.status == 429:
                raise
            return Outcome(op, "applied", new, detail=f"{old.id} was left as it is ({err.code})")
        return Outcome(op, "applied", new, detail=f"{old.id} ended (valid_until {ends})")
