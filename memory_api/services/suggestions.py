"""Suggestions: changes capture may not make itself, kept for the user to accept or dismiss.

Capture suggests instead of writing when the change would touch a memory the user wrote (update, delete,
or ending it: supersede) or when what it would store reads as an instruction or a secret (add;
capture_screen.py). A suggestion is about one version of a memory: once that memory changed or is gone,
the suggestion is moot and dropped. Accepting applies it as the user's own change, through their door.
"""

from __future__ import annotations

import dataclasses
import time
from typing import TYPE_CHECKING, Any

from ..errors import ApiError, Conflict, NotFound
from ..ids import SUGGESTION_PREFIX, derived_id, new_ulid
from ..models import Memory, Provenance
from ..store.suggestions import SuggestionStore
from .memories import MemoryService

if TYPE_CHECKING:
    from .capture import Operation

MAX_SUGGESTIONS = 100  # pending per user: past it, capture skips what it would suggest


class SuggestionService:
    def __init__(self, memories: MemoryService, store: SuggestionStore) -> None:
        self._memories = memories
        self._suggestions = store

    def propose_new(self, user_id: str, op: Operation, by: Provenance, why: str, scope: str | None,
                     seed: str | None) -> str:
        """A new memory capture may not write itself (capture_screen): the user's to accept. A job's retry
        makes the same suggestion (its id derives from the job and the operation's place)."""
        suggestion_id = derived_id(SUGGESTION_PREFIX, seed.split("/")[0], f"add|{seed}") if seed \
            else SUGGESTION_PREFIX + new_ulid()
        self._keep(user_id, suggestion_id, {
            "action": "add", "memory_id": None, "content": op.content, "reason": f"{op.reason} (held: {why})",
            "occurred_at": op.occurred_at, "expires_at": op.expires_at, "scope": scope,
            "id": suggestion_id, "revision": None, "created_at": int(time.time()), "origin": by.origin()})
        return suggestion_id

    def _keep(self, user_id: str, suggestion_id: str, record: dict[str, Any]) -> None:
        pending = self._suggestions.count(user_id)
        if pending >= MAX_SUGGESTIONS and not self._suggestions.exists(user_id, suggestion_id):
            raise Conflict(f"This user has {pending} pending suggestions, the most kept; accept or dismiss some.",
                           code="too_many_suggestions")
        self._suggestions.add(user_id, suggestion_id, record)

    def propose_change(self, user_id: str, op: Operation, target: Memory, by: Provenance, seed: str | None,
                 extra: dict[str, Any] | None = None) -> str:
        # The same proposal about the same version of a memory is one suggestion, however often it is made.
        about = (extra or {}).get("superseded_by") or op.content
        suggestion_id = derived_id(SUGGESTION_PREFIX, target.id, f"{target.version}|{op.action}|{about}")
        self._keep(user_id, suggestion_id, {
            "action": op.action, "memory_id": op.memory_id, "content": op.content, "reason": op.reason,
            **(extra or {}), "id": suggestion_id, "revision": target.revision, "created_at": int(time.time()),
            "origin": by.origin()})
        return suggestion_id

    def list(self, user_id: str) -> list[dict[str, Any]]:
        """Pending suggestions, newest first. One about a memory that is gone, or has changed since (the
        user decided otherwise), is dropped rather than shown."""
        pending = self._suggestions.all(user_id)
        current = self._memories.store.many(user_id, sorted({s["memory_id"] for s in pending.values()
                                                             if s.get("memory_id")}))
        kept = []
        for suggestion_id, s in pending.items():
            if s["action"] == "add":  # a new memory: about nothing that could change
                kept.append(s)
                continue
            memory = current.get(s["memory_id"])
            if memory is None or memory.revision != s["revision"]:
                self._suggestions.remove(user_id, suggestion_id)
            else:
                kept.append(s)
        return [_suggestion_api(s) for s in sorted(kept, key=lambda s: s["created_at"], reverse=True)]

    def accept(self, user_id: str, suggestion_id: str, by: Provenance) -> Memory:
        """Apply a suggestion as the user's own change (their door, the suggestion's reason); it is gone
        afterwards. If the memory changed since it was suggested, nothing is applied (412) and the
        suggestion stays dismissed: it was about a version that no longer exists."""
        suggestion = self._pending(user_id, suggestion_id)
        accepted = dataclasses.replace(by, reason=f"accepted suggestion: {suggestion['reason']}")
        versions = [str(suggestion["revision"])]
        try:  # written first, guarded by the suggestion's revision; removed once that settled it
            if suggestion["action"] == "add":
                times = {"occurred_at": suggestion.get("occurred_at"), "expires_at": suggestion.get("expires_at")}
                if times["expires_at"] is not None and times["expires_at"] <= time.time():
                    times["expires_at"] = None  # accepted after its day: kept, the user can set a new one
                memory = self._memories.create(user_id, suggestion["content"], scope=suggestion.get("scope"),
                                               times=times, by=accepted).memory
            elif suggestion["action"] in ("update", "supersede"):
                changes = {"content": suggestion["content"]} if suggestion["action"] == "update" else \
                    {"valid_until": suggestion["valid_until"]}
                memory = self._memories.update(user_id, suggestion["memory_id"], changes,
                                               expected_versions=versions, by=accepted)
            else:
                memory = self._memories.delete(user_id, suggestion["memory_id"], expected_versions=versions,
                                               by=accepted)
        except ApiError as err:
            if err.status in (404, 412):  # the memory is gone or changed: the suggestion is moot
                self._suggestions.remove(user_id, suggestion_id)
            raise
        self._suggestions.remove(user_id, suggestion_id)
        return memory

    def dismiss(self, user_id: str, suggestion_id: str) -> None:
        self._pending(user_id, suggestion_id)
        self._suggestions.remove(user_id, suggestion_id)

    def _pending(self, user_id: str, suggestion_id: str) -> dict[str, Any]:
        suggestion = self._suggestions.get(user_id, suggestion_id) if isinstance(suggestion_id, str) else None
        if suggestion is None:
            raise NotFound(f"No pending suggestion with id '{suggestion_id}'.", param="suggestion_id",
                           code="suggestion_not_found")
        return suggestion


def _suggestion_api(s: dict[str, Any]) -> dict[str, Any]:
    return {"object": "memory.suggestion", "id": s["id"], "action": s["action"], "memory_id": s["memory_id"],
            "content": s.get("content"), "reason": s["reason"], "revision": s["revision"],
            "valid_until": s.get("valid_until"), "superseded_by": s.get("superseded_by"),
            "origin": s.get("origin"), "created_at": s["created_at"]}
