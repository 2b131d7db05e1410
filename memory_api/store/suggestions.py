"""Pending suggestions: changes automatic capture proposed to memories whose latest version a user
wrote (the user's word wins, so capture proposes instead of writing). One HASH per user."""

from __future__ import annotations

import json
from typing import Any

from . import keys
from .records import dumps, text
from .redis import RedisStore, raises_store_unavailable


@raises_store_unavailable
class SuggestionStore:
    def __init__(self, redis_store: RedisStore) -> None:
        self._redis = redis_store

    def add(self, user_id: str, suggestion_id: str, suggestion: dict[str, Any]) -> None:
        self._redis.client.hset(keys.memory_suggestions(user_id), suggestion_id, dumps(suggestion))

    def all(self, user_id: str) -> dict[str, dict[str, Any]]:
        raw = self._redis.client.hgetall(keys.memory_suggestions(user_id))
        return {text(k): json.loads(v) for k, v in raw.items()}

    def take(self, user_id: str, suggestion_id: str) -> dict[str, Any] | None:
        """Remove a suggestion and return it (None: there is none by that id). Atomic, so two
        accepts of the same suggestion apply it once."""
        pipe = self._redis.client.pipeline(transaction=True)
        pipe.hget(keys.memory_suggestions(user_id), suggestion_id)
        pipe.hdel(keys.memory_suggestions(user_id), suggestion_id)
        raw, removed = pipe.execute()
        return json.loads(raw) if raw is not None and removed else None
