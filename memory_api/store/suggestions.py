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

    def get(self, user_id: str, suggestion_id: str) -> dict[str, Any] | None:
        raw = self._redis.client.hget(keys.memory_suggestions(user_id), suggestion_id)
        return json.loads(raw) if raw is not None else None

    def exists(self, user_id: str, suggestion_id: str) -> bool:
        return bool(self._redis.client.hexists(keys.memory_suggestions(user_id), suggestion_id))

    def count(self, user_id: str) -> int:
        return int(self._redis.client.hlen(keys.memory_suggestions(user_id)))

    def remove(self, user_id: str, suggestion_id: str) -> None:
        self._redis.client.hdel(keys.memory_suggestions(user_id), suggestion_id)
