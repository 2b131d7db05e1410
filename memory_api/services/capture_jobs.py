"""Capture as a job: after a chat turn is answered, a worker extracts memories from it (capture.py).

The chat only queues the job (one Redis call), so capture never delays an
answer. Workers (threads of `memory-api worker`, which `serve` runs beside
gunicorn) take jobs from the queue (store/capture_queue.py). Delivery is at
least once: a job stays pending until a worker finishes it, and a job whose
worker died, or whose provider call failed, is taken up again after
MEMORY_API_CAPTURE_RETRY_SECONDS, at most MEMORY_API_CAPTURE_MAX_ATTEMPTS
times. Applying is idempotent: the model's operations are kept with the job
once it has them, and what they create has ids derived from the job, so a job
applied twice changes memories once.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from .. import metrics
from ..errors import ApiError, InvalidRequest, NotFound
from ..ids import CAPTURE_JOB_ID_PATTERN, new_capture_job_id
from ..models import Provenance
from ..store.capture_queue import CaptureQueue
from .capture import CaptureService, Extraction, Operation
from .capture_filter import NOTHING_TO_REMEMBER, nothing_to_remember

log = logging.getLogger(__name__)

# Provider failures worth another try later (a 4xx other than 408/409/429 will not get better).
_RETRYABLE_STATUSES = {408, 409, 429}
USER_TURNED_CAPTURE_OFF = "the user turned capture off"


class FinishedOperation:
    """An operation an earlier attempt finished, as it recorded it."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data
        self.operation = Operation.from_job(data)
        self.status = data.get("status")

    def to_api(self) -> dict[str, Any]:
        return self.data


@dataclass(frozen=True)
class TurnToCapture:
    """What a chat hands over when it has answered: the turn, and whose it is."""

    user_id: str
    messages: list[dict[str, Any]]  # the turn: the user's latest message(s) and the assistant's answer
    conversation_id: str | None
    turn: int | None
    actor: str | None
    scope: str | None = None  # the conversation's or the request's scope: capture stays within it


def turn_messages(request_messages: list[dict[str, Any]], reply: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The turn to capture from: the messages from the latest user message on, and the answer."""
    last_user = max((i for i, m in enumerate(request_messages) if m.get("role") == "user"), default=None)
    turn = request_messages[last_user:] if last_user is not None else []
    return [*turn, reply] if reply else turn


class CaptureJobs:
    def __init__(self, queue: CaptureQueue, capture: CaptureService, *, enabled_by_default: bool,
                 max_attempts: int, retry_seconds: float) -> None:
        self._queue = queue
        self._capture = capture
        self.enabled_by_default = enabled_by_default
        self.max_attempts = max_attempts
        self.retry_seconds = retry_seconds

    def wanted(self, user_id: str, requested: object) -> bool:
        """Does this turn get captured? Never if the user turned capture off (their word wins); else the
        request's (or its conversation's) choice, else the user's own, else the server's default."""
        if requested is False:
            return False
        mine = self._queue.user_capture(user_id)
        if mine is False:
            return False
        if requested is not None:
            return True
        return self.enabled_by_default if mine is None else mine

    def preferences(self, user_id: str) -> dict[str, Any]:
        return {"object": "memory.preferences", "capture": self._queue.user_capture(user_id),
                "capture_default": self.enabled_by_default}

    def set_preferences(self, user_id: str, capture: object) -> dict[str, Any]:
        """The user turns capture on or off for all their turns (null: back to the server's default). Off
        wins over every request and conversation, and stops their turns already queued: a worker skips them."""
        if capture is not None and not isinstance(capture, bool):
            raise InvalidRequest("'capture' must be true, false or null.", param="capture")
        self._queue.set_user_capture(user_id, capture)
        return self.preferences(user_id)

    @staticmethod
    def new_id() -> str:
        return new_capture_job_id()

    def enqueue(self, job_id: str, turn: TurnToCapture) -> None:
        """Queue a turn for capture (the answer has been given; this is all the chat waits for)."""
        self._queue.push(turn.user_id, job_id, {
            "messages": turn.messages, "conversation_id": turn.conversation_id, "turn": turn.turn,
            "actor": turn.actor, "scope": turn.scope, "at": int(time.time())}, now=int(time.time()))

    def status(self, user_id: str, job_id: str) -> dict[str, Any]:
        """A job's state as the API shows it (only to the user whose turn it was)."""
        valid = isinstance(job_id, str) and re.fullmatch(CAPTURE_JOB_ID_PATTERN[1:-1], job_id)
        state = self._queue.state(user_id, job_id) if valid else None
        if state is None:
            raise NotFound(f"No capture job with id '{job_id}' (or it ended more than a week ago).",
                           param="job_id", code="capture_job_not_found")
        results = json.loads(state["results"]) if state.get("results") else None
        return {"object": "memory.capture_job", "id": job_id, "state": state.get("state"),
                "attempts": int(state.get("attempts") or 0), "created_at": int(state.get("created_at") or 0),
                "updated_at": int(state.get("updated_at") or 0), "results": results,
                "error": state.get("error") or None, "reason": state.get("reason") or None}

    # --- the worker's side -------------------------------------------------------------

    def delay(self, attempt: int) -> float:
        """How long a job waits after its `attempt`-th failed: doubling from retry_seconds, at most an hour."""
        return min(self.retry_seconds * 2 ** (attempt - 1), 3600.0)

    def work(self, consumer: str, *, block_ms: int = 1000) -> int:
        """One round of a worker: take up stale jobs whose time has come, else wait for new ones; process
        them. Returns how many were processed."""
        stale = self._queue.claim_stale(consumer, min_idle_ms=int(self.retry_seconds * 1000), count=10)
        jobs = [(entry_id, job) for entry_id, job in stale if self._due(job)]
        if not jobs:
            jobs = self._queue.read(consumer, count=10, block_ms=block_ms)
        for entry_id, job in jobs:
            self.process(entry_id, job)
        return len(jobs)

    def _due(self, job: dict[str, Any]) -> bool:
        """May this worker take up a job another left? Not while its lease is held (a worker is still on
        it), nor before its retry delay has passed. (One not due stays pending; claiming it again later is
        cheap.)"""
        state = self._queue.state(job["user"], job["id"]) or {}
        now = time.time()
        return float(state.get("retry_at") or 0) <= now and float(state.get("lease_until") or 0) <= now

    def process(self, entry_id: str, job: dict[str, Any]) -> None:
        """Do one job: ask the model (unless an earlier attempt already did), apply what is not applied
        yet, record the outcome. While it works, the job's lease is renewed, so no other worker takes it
        up however long the model takes; a worker that dies stops renewing it."""
        user, job_id = job["user"], job["id"]
        now = int(time.time())
        attempt = self._queue.start_attempt(user, job_id, now=now)
        if attempt > self.max_attempts:
            log.warning("capture job %s for %s given up after %d attempts", job_id, user, attempt - 1)
            self._finish(entry_id, user, job_id, "failed")
            return
        if self._queue.user_capture(user) is False:  # the user turned capture off after this was queued
            self._finish(entry_id, user, job_id, "skipped", reason=USER_TURNED_CAPTURE_OFF)
            return
        if nothing_to_remember(job["messages"]):  # "thanks!", "what's the capital of Peru?": no model call
            self._finish(entry_id, user, job_id, "skipped", reason=NOTHING_TO_REMEMBER)
            return
        by = Provenance(source="auto", actor=job.get("actor"), conversation_id=job.get("conversation_id"),
                        turn=job.get("turn"), author=user)
        try:
            with self._leased(user, job_id):
                extraction = self._operations(user, job_id, job.get("scope"))
                if extraction is None:
                    # dated when the turn was said, not when a worker reached it (older jobs: now)
                    extraction = self._capture.propose(user, job["messages"], scope=job.get("scope"),
                                                       at=job.get("at"))
                    self._queue.record(user, job_id, operations=[o.to_job() for o in extraction.operations])
                    usage = extraction.usage or {}
                    self._queue.add_tokens(user, int(usage.get("total_tokens") or 0))
                self._capture.apply(user, extraction, by, job_id=job_id, done=self._finished_operations(user, job_id),
                                    on_outcome=lambda i, outcome: self._queue.record(
                                        user, job_id, **{f"op:{i}": outcome.to_api()}))
        except ApiError as err:
            if _retryable(err) and attempt < self.max_attempts:
                self._retry_later(user, job_id, attempt, f"{err.code}: {err.message}")
                return  # left pending: taken up again once it has been idle, and its retry_at has come
            log.warning("capture job %s for %s failed: %s %s", job_id, user, err.code, err.message)
            self._finish(entry_id, user, job_id, "failed", error=f"{err.code}: {err.message}")
            return
        except Exception as exc:  # a bug, or a fault no ApiError names: tried again later, and said
            log.exception("capture job %s for %s: unexpected error", job_id, user)
            self._retry_later(user, job_id, attempt, f"internal_error: {type(exc).__name__}")
            return
        self._queue.record(user, job_id, results=[o.to_api() for o in extraction.outcomes])
        self._finish(entry_id, user, job_id, "done", outcomes=extraction.outcomes)

    def _retry_later(self, user: str, job_id: str, attempt: int, error: str) -> None:
        delay = self.delay(attempt)
        log.info("capture job %s for %s: %s; next attempt in %.0f s", job_id, user, error, delay)
        self._queue.record(user, job_id, state="retrying", error=error, updated_at=int(time.time()),
                           retry_at=time.time() + delay)
        _count("retrying")

    def _finish(self, entry_id: str, user: str, job_id: str, state: str, *, error: str = "", reason: str = "",
                outcomes: list | None = None) -> None:
        self._queue.record(user, job_id, state=state, error=error, reason=reason, updated_at=int(time.time()))
        self._queue.done(entry_id)
        _count(state, outcomes)

    @contextlib.contextmanager
    def _leased(self, user: str, job_id: str) -> Iterator[None]:
        """Hold the job's lease while working on it: renewed a few times per lease, released at the end."""
        lease = max(self.retry_seconds, 0.05)
        stop = threading.Event()

        def renew() -> None:
            while not stop.wait(lease / 3):
                try:
                    self._queue.record(user, job_id, lease_until=time.time() + lease)
                except Exception:  # Redis away: the next renewal may get through
                    log.warning("capture job %s: could not renew its lease", job_id)

        self._queue.record(user, job_id, lease_until=time.time() + lease)
        renewer = threading.Thread(target=renew, daemon=True, name=f"lease-{job_id}")
        renewer.start()
        try:
            yield
        finally:
            stop.set()
            renewer.join()
            self._queue.record(user, job_id, lease_until=0)

    def _operations(self, user: str, job_id: str, scope: str | None) -> Extraction | None:
        """The operations an earlier attempt got from the model, if it got that far."""
        state = self._queue.state(user, job_id) or {}
        if not state.get("operations"):
            return None
        return Extraction([Operation.from_job(o) for o in json.loads(state["operations"])], scope=scope)

    def _finished_operations(self, user: str, job_id: str) -> dict[int, FinishedOperation]:
        """What an earlier attempt already did, by the operation's place (not to be done again)."""
        state = self._queue.state(user, job_id) or {}
        return {int(name[3:]): FinishedOperation(json.loads(value)) for name, value in state.items()
                if name.startswith("op:")}

    def backlog(self) -> int:
        return self._queue.backlog()


def _count(outcome: str, results: list | None = None) -> None:
    recorder = metrics.active()
    if recorder is not None:
        recorder.capture_job(outcome, results)


def _retryable(err: ApiError) -> bool:
    """A provider or Redis that is down or overloaded may recover; a malformed answer is logged and
    dropped (changing nothing), not asked again and again."""
    if err.code == "invalid_extraction":
        return False
    return err.status >= 500 or err.status in _RETRYABLE_STATUSES


class CaptureWorkers:
    """Threads that work the queue until stopped (`memory-api worker`, and `serve` by default)."""

    def __init__(self, jobs: CaptureJobs, *, name: str, threads: int) -> None:
        self._jobs = jobs
        self._name = name
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, args=(f"{name}-{i}",), daemon=True,
                                          name=f"capture-{i}") for i in range(threads)]

    def start(self) -> CaptureWorkers:
        for thread in self._threads:
            thread.start()
        return self

    def _run(self, consumer: str) -> None:
        while not self._stop.is_set():
            try:
                self._jobs.work(consumer)
            except ApiError as err:  # Redis away: wait, then try again
                log.warning("capture worker %s: %s", consumer, err.message)
                self._stop.wait(1.0)
            except Exception:  # a worker thread must outlive one bad job
                log.exception("capture worker %s: unexpected error", consumer)
                self._stop.wait(1.0)

    def stop(self, timeout: float = 10.0) -> None:
        """Let each thread finish the job in hand, then return."""
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout)
