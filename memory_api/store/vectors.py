"""A user's vector set (Redis >= 8): which model made it, and nearest-neighbour reads.

Vectors are written in the same Lua scripts as the records (memory_lua.py);
this module only reads them.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from . import keys
from .records import text
from .redis import RedisStore, raises_store_unavailable


class ProfileState(NamedTuple):
    """What a query needs to know about the user's query profile (services/query_profile.py)."""

    model: str | None  # the model of the user's vectors
    profile: bytes | None  # the stored profile, as QueryProfile.encode wrote it
    size: int  # VCARD


@raises_store_unavailable
class VectorStore:
    def __init__(self, redis_store: RedisStore) -> None:
        self._redis = redis_store

    def model(self, user_id: str) -> str | None:
        """The embedding model the user's vectors were made with (None: no vectors yet)."""
        model = self._redis.client.hget(keys.memory_stats(user_id), "vmodel")
        return text(model) if model else None

    def size(self, user_id: str) -> int:
        """Elements in the user's vector set: one per memory, plus the tombstones of deleted or re-embedded
        memories (memory_lua_prelude.py: vectors are never removed one by one)."""
        return int(self._redis.client.execute_command("VCARD", keys.memory_vectors(user_id)) or 0)

    def missing(self, user_id: str, memory_ids: list[str]) -> set[str]:
        """Which of these (existing) memories have no vector."""
        if not memory_ids:
            return set()
        reply = self._redis.script("MISSING_VECTORS")(
            keys=[keys.memory_items(user_id), keys.memory_vectors(user_id)], args=memory_ids)
        return {text(i) for i in reply}

    def nearest(self, user_id: str, query: bytes, count: int) -> tuple[str | None, list[tuple[Any, float]]]:
        """(the model of the user's vectors, the `count` documents nearest to `query` as (docno, similarity)),
        in one transaction."""
        pipe = self._redis.client.pipeline(transaction=True)
        pipe.hget(keys.memory_stats(user_id), "vmodel")
        pipe.execute_command("VSIM", keys.memory_vectors(user_id), "FP32", query, "COUNT", count, "WITHSCORES")
        stored_model, reply = pipe.execute(raise_on_error=False)
        if isinstance(stored_model, Exception):
            raise stored_model
        model = text(stored_model) if stored_model else None
        if isinstance(reply, Exception):
            if model is not None and reply.args and "dimension" in str(reply):
                return model, []  # vectors of another model (another dimension): nothing comparable
            raise reply
        pairs = list(reply.items()) if isinstance(reply, dict) else list(zip(reply[0::2], reply[1::2]))  # RESP3, RESP2
        return model, [(docno, float(score)) for docno, score in pairs]

    def profile_state(self, user_id: str) -> ProfileState:
        """The user's vector model, stored query profile and vector count, in one transaction."""
        pipe = self._redis.client.pipeline(transaction=True)
        pipe.hmget(keys.memory_stats(user_id), "vmodel", "vprofile")
        pipe.execute_command("VCARD", keys.memory_vectors(user_id))
        (model, profile), size = pipe.execute()
        return ProfileState(text(model) if model else None, profile or None, int(size or 0))

    def sample(self, user_id: str, count: int) -> np.ndarray:
        """Up to `count` of the user's vectors picked at random (unit rows, as stored: Q8-rounded)."""
        key = keys.memory_vectors(user_id)
        names = self._redis.client.execute_command("VRANDMEMBER", key, count) or []
        pipe = self._redis.client.pipeline(transaction=False)
        for name in names:
            pipe.execute_command("VEMB", key, name, "RAW")  # the stored bytes: no float text to parse
        rows = [row for row in map(_unit_vector, pipe.execute(raise_on_error=False)) if row is not None]
        return np.vstack(rows) if rows else np.zeros((0, 0), dtype=np.float32)

    def save_profile(self, user_id: str, model: str, profile: bytes) -> None:
        """Store a query profile fitted on vectors of `model`, unless the user's vectors have changed
        model since (a reindex) or are gone; the profile goes with the vectors (memory_lua_prelude.py)."""
        self._redis.script("SAVE_QUERY_PROFILE")(keys=[keys.memory_stats(user_id), keys.memory_vectors(user_id)],
                                                 args=[model, profile])

    def deployment_model(self, model: str | None) -> str | None:
        """Record `model` as the deployment's embedding model unless one is recorded; returns the one that
        was recorded before (None: none)."""
        key = keys.deployment_meta()
        pipe = self._redis.client.pipeline(transaction=False)
        pipe.hget(key, "vector_model")
        if model is not None:
            pipe.hsetnx(key, "vector_model", model)
        before = pipe.execute()[0]
        return text(before) if before else None

    def set_deployment_model(self, model: str) -> None:
        self._redis.client.hset(keys.deployment_meta(), "vector_model", model)


def _unit_vector(raw: Any) -> np.ndarray | None:
    """A stored vector from VEMB ... RAW ([quantisation, bytes, norm(, range)]), at unit length; None for
    a binary-quantised one (too coarse to learn from) or a reply that is not a vector."""
    if not isinstance(raw, list) or len(raw) < 3:
        return None
    quantisation = text(raw[0])
    if quantisation == "int8" and len(raw) >= 4:
        return np.frombuffer(raw[1], dtype=np.int8).astype(np.float32) * (float(raw[3]) / 127)
    if quantisation in ("f32", "fp32", "float32"):
        return np.frombuffer(raw[1], dtype="<f4").astype(np.float32)
    return None
