"""What a user has stored: counts, words, tokens, tags and scopes, oldest and newest."""

from __future__ import annotations

from typing import Any

from ..ids import created_at_of
from ..store.memories import MemoryStore


class StatsService:
    def __init__(self, store: MemoryStore) -> None:
        self._store = store

    def tags(self, user_id: str) -> list[dict[str, Any]]:
        """The user's tags with how many memories carry each, most used first."""
        counts = self._store.tag_counts(user_id)
        return [{"object": "memory.tag", "tag": tag, "count": count}
                for tag, count in sorted(counts.items(), key=lambda item: (-item[1], item[0]))]

    def stats(self, user_id: str) -> dict[str, Any]:
        s = self._store.stats(user_id)
        return {
            "object": "memory.stats",
            "count": s["count"],
            "words": s["words"],
            "tokens": s["tokens"],
            "tags": s["tags"],
            "scopes": s["scopes"],
            "capture_tokens": s["capture_tokens"],
            "oldest": {"id": s["oldest"], "created_at": created_at_of(s["oldest"])} if s["oldest"] else None,
            "newest": {"id": s["newest"], "created_at": created_at_of(s["newest"])} if s["newest"] else None,
        }
