"""Deleting memories past their expires_at: what a sweeper in the capture worker runs every
MEMORY_API_EXPIRY_SWEEP_SECONDS.

Reads hide such a memory from its second on (store/query_lua.py); this removes it, through the same delete
as any other (one atomic script per batch, conditional on the memory still being expired, so an update that
moved its expiry wins), with an entry in the activity feed whose source is `expiry`, and kept for
MEMORY_API_DELETED_RETENTION_SECONDS so the deletion can be undone like any delete. Any number of workers may
run, on any machines: one sweeps at a time (a lock in Redis that expires on its own if its holder dies),
and a memory deleted twice is simply gone the second time. On a Redis Cluster the users are found on every
node (SCAN of each) and each user's deletes run on that user's slot.
"""

from __future__ import annotations

import logging
import time
import uuid

from ..models import Provenance
from ..store.memories import MemoryStore
from ..store.sweep_lock import SweepLock

log = logging.getLogger(__name__)

EXPIRY = Provenance(source="expiry", reason="expired")
BATCH = 100  # memories deleted per script


class ExpirySweeper:
    def __init__(self, store: MemoryStore, lock: SweepLock, *, every: int) -> None:
        self._store = store
        self._lock = lock
        self.every = every  # seconds between sweeps
        self._token = uuid.uuid4().hex

    def sweep(self, now: int | None = None) -> int:
        """Delete every memory whose expiry is at or before `now` (default: this second), if no other
        process is sweeping; returns how many were deleted."""
        now = int(time.time()) if now is None else now
        if not self._lock.acquire(self._token, seconds=max(self.every * 5, 60)):
            return 0
        deleted = 0
        try:
            for user in self._store.users_with_expiries():
                while ids := self._store.expired_ids(user, now, BATCH):
                    done = sum(r.ok for r in self._store.delete_many(user, ids, expired_by=now, by=EXPIRY))
                    deleted += done
                    if done < len(ids):  # changed meanwhile (no longer expired): left for the next sweep
                        break
        finally:
            self._lock.release(self._token)
        if deleted:
            log.info("expiry sweep: deleted %d memories past their expiry", deleted)
        return deleted
