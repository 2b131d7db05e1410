"""Semantic recall: when it is available, the embeddings of memories and queries, and nearest neighbours.

It needs an embedder (MEMORY_API_EMBEDDINGS: the offline ONNX model shipped
with the package by default, or a provider's /v1/embeddings) and a Redis with
vector sets (Redis >= 8). Without either, search and injection run on keywords
alone: the default mode says so, and an explicit `semantic` or `hybrid` request
is refused naming what is missing.
"""

from __future__ import annotations

import functools
import logging
import threading
from typing import Any, NamedTuple

from ..errors import InvalidRequest
from ..store.redis import RedisStore
from ..store.vectors import VectorStore
from .query_profile import PROFILE_SAMPLE, QueryProfile, needs_fit

log = logging.getLogger(__name__)

MODES = ("hybrid", "semantic", "keyword")


class UserQuery(NamedTuple):
    """A query's vector for one user's memories, and how its similarities map back to the plain query's
    scale (services/query_profile.py; scale 1, offset 0 without a profile)."""

    vector: bytes
    scale: float = 1.0
    offset: float = 0.0


class SemanticIndex:
    def __init__(self, embedder, redis_store: RedisStore, *, default_mode: str = "hybrid",
                 keyword_weight: float = 5.0, query_profile: bool = True) -> None:
        self._embedder = embedder  # None: embeddings are off
        self._redis = redis_store
        self._vectors = VectorStore(redis_store)
        self.default_mode = default_mode
        self.keyword_weight = keyword_weight  # what a full keyword match adds in hybrid ranking (services/fusion.py)
        self._warned_models: set[str] = set()
        self._query_profile = query_profile  # adapt queries to each user (services/query_profile.py)
        self._fitting: set[str] = set()  # users whose profile this process is fitting now
        self._fitting_lock = threading.Lock()
        # A chat that draws from shared spaces ranks the same message in each (services/context.py): the
        # message is embedded once. Small: a repeated message within seconds is all it serves.
        self._query_embedding = functools.lru_cache(maxsize=64)(self._embed_query)

    def _embed_query(self, query: str) -> Any:
        vector = self._embedder.embed_query(query)
        vector.setflags(write=False)  # shared between the callers the cache serves
        return vector

    def unavailable_reason(self) -> str | None:
        """Why semantic recall cannot run here (None: it can)."""
        if self._embedder is None:
            return "embeddings are off (MEMORY_API_EMBEDDINGS=off)"
        capabilities = self._redis.capabilities()
        if not capabilities.vector_sets:
            return (f"this Redis ({capabilities.redis_version}) has no vector sets; semantic recall needs "
                    "Redis >= 8")
        return None

    def model(self) -> str | None:
        """The embedding model whose vectors writes keep, or None when there are no vectors to keep."""
        return self._embedder.model if self.unavailable_reason() is None else None

    def warm_up(self) -> None:
        """Load the embedding model now, if semantic recall will use it."""
        if self.unavailable_reason() is None:
            self._embedder.warm_up()

    def mode(self, requested: Any) -> str:
        """The search mode a request runs in: the requested one, or the default (keyword when
        semantic recall is unavailable)."""
        if requested is None:
            return self.default_mode if self.unavailable_reason() is None else "keyword"
        if requested not in MODES:
            raise InvalidRequest(f"'mode' must be one of {', '.join(MODES)}.", param="mode", code="invalid_mode")
        reason = self.unavailable_reason() if requested != "keyword" else None
        if reason:
            raise InvalidRequest(f"Mode '{requested}' needs semantic recall, which is unavailable: {reason}. "
                                 "Use mode 'keyword'.", param="mode", code="semantic_search_unavailable")
        return requested

    def document_vectors(self, texts: list[str]) -> list[bytes] | None:
        """FP32 embeddings of memory contents, or None when no vectors are kept."""
        if not texts or self.model() is None:
            return None
        return [row.astype("<f4").tobytes() for row in self._embedder.embed_documents(texts)]

    def user_query(self, user_id: str, query: str) -> UserQuery:
        """What to search `user_id`'s memories with: the query's embedding, adapted to the user by their
        query profile when they have one (fitting or refitting it first when due)."""
        vector = self._query_embedding(query)
        profile = self._profile(user_id) if self._query_profile else None
        if profile is not None:
            return UserQuery(profile.apply(vector).astype("<f4").tobytes(), profile.scale, profile.offset)
        return UserQuery(vector.astype("<f4").tobytes())

    def user_query_vector(self, user_id: str, query: str) -> bytes:
        """The FP32 vector of `user_query`."""
        return self.user_query(user_id, query).vector

    def _profile(self, user_id: str) -> QueryProfile | None:
        model = self._embedder.model
        state = self._vectors.profile_state(user_id)
        if state.model != model:
            return None  # no vectors, or another model's (nearest() then finds nothing to compare)
        profile = QueryProfile.decode(state.profile) if state.profile else None
        if needs_fit(profile, model, state.size):
            profile = self._fit(user_id, model, state.size) or profile
        return profile if profile is not None and profile.model == model else None

    def _fit(self, user_id: str, model: str, size: int) -> QueryProfile | None:
        """Fit and store the user's profile; None if another thread of this process is at it (that
        search goes on with the profile it has: refitting is an improvement, never a must)."""
        with self._fitting_lock:
            if user_id in self._fitting:
                return None
            self._fitting.add(user_id)
        try:
            sample = self._vectors.sample(user_id, PROFILE_SAMPLE)
            if len(sample) < 2 or sample.shape[1] != self._embedder.dimensions:
                return None
            profile = QueryProfile.fit(model, sample, size)
            self._vectors.save_profile(user_id, model, profile.encode())
            return profile
        finally:
            with self._fitting_lock:
                self._fitting.discard(user_id)

    def nearest(self, user_id: str, query: UserQuery, count: int) -> list[tuple[Any, float]]:
        """The user's `count` memories nearest to a query, as (docno, cosine similarity on the plain query's
        scale: services/query_profile.py), best first."""
        model, found = self._vectors.nearest(user_id, query.vector, count)
        if model is not None and model != self._embedder.model:
            if model not in self._warned_models:
                self._warned_models.add(model)
                log.warning("vectors of embedding model %r are stored, the service embeds with %r: run "
                            "`memory-api reindex`; until then semantic matches are skipped", model,
                            self._embedder.model)
            return []
        scale, offset = query.scale, query.offset
        # VSIM says (1 + cosine) / 2
        return [(docno, scale * (2.0 * similarity - 1.0) + offset) for docno, similarity in found]
