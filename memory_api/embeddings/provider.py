"""The provider embedder: an OpenAI-compatible /v1/embeddings, through the official `openai` SDK.

URL MEMORY_API_EMBEDDINGS_BASE_URL (else OPENAI_BASE_URL, else OpenAI's), key
MEMORY_API_EMBEDDINGS_API_KEY (else OPENAI_API_KEY), model MEMORY_API_EMBEDDING_MODEL, and
MEMORY_API_EMBEDDING_DIMENSIONS sent as `dimensions` when above 0. A provider failure is an
ApiError (429, 502, 503, 504 as for chat), never the SDK's exception.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from ..errors import ApiError, BadGateway, ServiceUnavailable
from ..lazy_import import LazyModule
from ..services.upstream import map_provider_error
from .base import l2_normalise

if TYPE_CHECKING:
    import openai
else:  # imported on first use (lazy_import.py)
    openai = LazyModule("openai")

if TYPE_CHECKING:
    from ..config import Settings

log = logging.getLogger(__name__)

BATCH_SIZE = 128  # inputs per request
# Vector sizes of well-known models, so `dimensions` needs no request when none is configured.
KNOWN_DIMENSIONS = {"text-embedding-3-small": 1536, "text-embedding-3-large": 3072, "text-embedding-ada-002": 1536}


def model_name(settings: Settings) -> str:
    """The stable name of the vector space: provider:<model>[:<dimensions>]."""
    name = f"provider:{settings.embedding_model}"
    return f"{name}:{settings.embedding_dimensions}" if settings.embedding_dimensions > 0 else name


def known_dimensions(settings: Settings) -> int | None:
    """The vector size, if it is known without asking the provider."""
    if settings.embedding_dimensions > 0:
        return settings.embedding_dimensions
    return KNOWN_DIMENSIONS.get(settings.embedding_model)


class ProviderEmbedder:
    """Embeddings from the configured provider. Thread-safe (the SDK client is)."""

    def __init__(self, settings: Settings, *, batch_size: int = BATCH_SIZE) -> None:
        self._settings = settings
        self.model = model_name(settings)
        self.batch_size = max(1, batch_size)
        self._dimensions = known_dimensions(settings)
        self._lock = threading.Lock()
        self._client: openai.OpenAI | None = None

    @property
    def dimensions(self) -> int:
        if self._dimensions is None:  # an unfamiliar model: ask once
            self.embed_query("dimension probe")
        assert self._dimensions is not None
        return self._dimensions

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        if isinstance(texts, str):
            raise TypeError("embed_documents takes a list of str, not one str (use embed_query)")
        texts = list(texts)
        if not texts:
            return np.empty((0, self._dimensions or 0), dtype=np.float32)
        rows = [self._request(texts[i:i + self.batch_size]) for i in range(0, len(texts), self.batch_size)]
        return np.concatenate(rows) if len(rows) > 1 else rows[0]

    def embed_query(self, text: str) -> np.ndarray:
        if not isinstance(text, str):
            raise TypeError(f"embed_query takes a str, not {type(text).__name__}")
        return self.embed_documents([text])[0]

    def warm_up(self) -> None:
        self._sdk()  # no request: only check that a provider is configured

    def close(self) -> None:
        with self._lock:
            client, self._client = self._client, None
        if client is not None:
            client.close()

    # --- inside -------------------------------------------------------------------------

    def _sdk(self) -> openai.OpenAI:
        s = self._settings
        base_url = s.embeddings_base_url or s.openai_base_url
        api_key = s.embeddings_api_key or s.openai_api_key
        if not (base_url or api_key):
            raise ServiceUnavailable(
                "No embeddings provider is configured: set MEMORY_API_EMBEDDINGS_API_KEY or OPENAI_API_KEY "
                "(and MEMORY_API_EMBEDDINGS_BASE_URL for a provider other than OpenAI), or set "
                "MEMORY_API_EMBEDDINGS=local.",
                code="provider_not_configured",
            )
        with self._lock:
            if self._client is None:
                self._client = openai.OpenAI(
                    api_key=api_key or "unused",  # a local provider may need no key; the SDK wants one
                    base_url=base_url or None,
                    timeout=openai.Timeout(s.upstream_timeout, connect=s.upstream_connect_timeout),
                    max_retries=s.upstream_retries,
                )
            return self._client

    def _request(self, texts: list[str]) -> np.ndarray:
        s = self._settings
        dimensions = s.embedding_dimensions if s.embedding_dimensions > 0 else openai.omit  # omit: not sent
        # OpenAI refuses an empty input string; a blank one embeds as "nothing" all the same.
        inputs = [t if t.strip() else " " for t in texts]
        try:
            response = self._sdk().embeddings.create(
                model=s.embedding_model, input=inputs, encoding_format="float", dimensions=dimensions)
        except openai.OpenAIError as err:
            mapped: ApiError = map_provider_error(err)
            log.warning("embeddings provider error: %s -> %s %s", type(err).__name__, mapped.status, mapped.code)
            raise mapped from None
        try:
            data = sorted(response.data, key=lambda d: d.index)
            vectors = np.asarray([d.embedding for d in data], dtype=np.float32)
        except (AttributeError, TypeError, ValueError):
            raise BadGateway("The embeddings provider answered with malformed vectors.",
                             code="upstream_error") from None
        if vectors.ndim != 2 or vectors.shape[0] != len(texts) or vectors.shape[1] == 0:
            raise BadGateway(
                f"The embeddings provider returned {vectors.shape[0] if vectors.ndim else 0} vectors "
                f"for {len(texts)} inputs.", code="upstream_error")
        if self._dimensions is not None and vectors.shape[1] != self._dimensions:
            raise BadGateway(
                f"The embeddings provider returned {vectors.shape[1]}-dimensional vectors; "
                f"{self._dimensions} were expected (check MEMORY_API_EMBEDDING_DIMENSIONS).",
                code="upstream_error")
        self._dimensions = vectors.shape[1]
        return l2_normalise(vectors)
