"""The capture job queue: a Redis Stream read by a consumer group, and each job's state.

A job is delivered to one worker; it stays pending (unacknowledged) until that
worker finishes it, so a worker that dies mid-job leaves it to be claimed by
another once it has been idle `claim_ms` (XAUTOCLAIM): at-least-once delivery,
durable across a crash of any process. The job's state (a hash per job, under
the user's hash tag) keeps the model's operations once it has them, so a retry
applies the same operations rather than asking again.
"""

from __future__ import annotations

import json
from typing import Any

import redis

from . import keys
from .records import dumps, text
from .redis import RedisStore, raises_store_unavailable

GROUP = "capture"
JOB_TTL_SECONDS = 7 * 24 * 3600  # a finished job's state can be read for a week


def _fields(raw: Any) -> dict[str, str]:
    if isinstance(raw, dict):
        return {text(k): text(v) for k, v in raw.items()}
    return {text(k): text(v) for k, v in zip(raw[0::2], raw[1::2])}


@raises_store_unavailable
class CaptureQueue:
    def __init__(self, redis_store: RedisStore) -> None:
        self._redis = redis_store
        self._group_ready = False

    @property
    def _client(self):
        return self._redis.client

    def push(self, user_id: str, job_id: str, job: dict[str, Any], *, now: int) -> None:
        """Record a job as queued, then queue it (one round trip; not a transaction, which a Redis Cluster
        could not make of two slots: a state without its queue entry just stays `queued`)."""
        pipe = self._client.pipeline(transaction=False)
        state = keys.capture_job(user_id, job_id)
        pipe.hset(state, mapping={"state": "queued", "attempts": 0, "created_at": now, "updated_at": now})
        pipe.expire(state, JOB_TTL_SECONDS)
        pipe.xadd(keys.capture_queue(), {"job": dumps({**job, "user": user_id, "id": job_id})})
        pipe.execute()

    def ensure_group(self) -> None:
        if self._group_ready:
            return
        try:
            self._client.xgroup_create(keys.capture_queue(), GROUP, id="0", mkstream=True)
        except redis.ResponseError as err:
            if "BUSYGROUP" not in str(err):
                raise
        self._group_ready = True

    def read(self, consumer: str, *, count: int, block_ms: int) -> list[tuple[str, dict[str, Any]]]:
        """New jobs for this consumer (waits up to `block_ms` for one)."""
        self.ensure_group()
        reply = self._client.xreadgroup(GROUP, consumer, {keys.capture_queue(): ">"}, count=count, block=block_ms)
        entries = []
        for _, messages in reply or []:
            entries += messages
        return [(text(entry_id), json.loads(_fields(fields)["job"])) for entry_id, fields in entries if fields]

    def claim_stale(self, consumer: str, *, min_idle_ms: int, count: int) -> list[tuple[str, dict[str, Any]]]:
        """Jobs another worker took and left (it died, or the job waits for a retry), now this one's."""
        self.ensure_group()
        reply = self._client.xautoclaim(keys.capture_queue(), GROUP, consumer, min_idle_ms, "0-0", count=count)
        return [(text(entry_id), json.loads(_fields(fields)["job"])) for entry_id, fields in reply[1] if fields]

    def done(self, entry_id: str) -> None:
        """The job is finished (or given up): off the queue for good."""
        pipe = self._client.pipeline(transaction=False)
        pipe.xack(keys.capture_queue(), GROUP, entry_id)
        pipe.xdel(keys.capture_queue(), entry_id)
        pipe.execute()

    def backlog(self) -> int:
        """Jobs queued or being worked on."""
        return int(self._client.xlen(keys.capture_queue()))

    # --- a job's state ---------------------------------------------------------------

    def state(self, user_id: str, job_id: str) -> dict[str, str] | None:
        raw = self._client.hgetall(keys.capture_job(user_id, job_id))
        return _fields(raw) if raw else None

    def record(self, user_id: str, job_id: str, **fields: Any) -> None:
        self._client.hset(keys.capture_job(user_id, job_id), mapping={
            k: (v if isinstance(v, (str, int, float)) else dumps(v)) for k, v in fields.items()})

    def start_attempt(self, user_id: str, job_id: str, *, now: int) -> int:
        """Count one more attempt at a job; returns how many there have been."""
        pipe = self._client.pipeline(transaction=False)
        pipe.hincrby(keys.capture_job(user_id, job_id), "attempts", 1)
        pipe.hset(keys.capture_job(user_id, job_id), mapping={"state": "running", "updated_at": now})
        return int(pipe.execute()[0])

    def user_capture(self, user_id: str) -> bool | None:
        """The user's own capture choice (None: they made none)."""
        value = self._client.hget(keys.user_preferences(user_id), "capture")
        return None if value is None else text(value) == "1"

    def set_user_capture(self, user_id: str, capture: bool | None) -> None:
        if capture is None:
            self._client.hdel(keys.user_preferences(user_id), "capture")
        else:
            self._client.hset(keys.user_preferences(user_id), "capture", "1" if capture else "0")

    def add_tokens(self, user_id: str, tokens: int) -> None:
        """What capture spent on the user's behalf (shown in their stats)."""
        if tokens > 0:
            self._client.hincrby(keys.memory_stats(user_id), "capture_tokens", tokens)
