"""Embeddings for semantic recall: text in, unit vectors out.

`build_embedder(settings)` picks the embedder MEMORY_API_EMBEDDINGS names:

* ``local``: an int8 ONNX all-MiniLM-L6-v2 shipped in pip packages, run as its quantised copy
  (embeddings/quantize.py; or the user's own model in MEMORY_API_EMBEDDING_MODEL_PATH), in-process
  with onnxruntime, offline;
* ``provider``: an OpenAI-compatible ``/v1/embeddings``;
* ``off``: no embedder (None): keyword search only.

What it returns loads lazily: the model is read on the first embedding (or on `warm_up()`), once
per process, behind a lock. An onnxruntime session must not cross a fork (gunicorn forks its
workers), so a child process never uses a session its parent loaded: it loads its own.

This module imports neither numpy nor onnxruntime, so importing it costs nothing.
"""

from __future__ import annotations

import os
import threading
import weakref
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, TypeVar, runtime_checkable

from .base import EmbeddingModelUnavailable

T = TypeVar("T")

if TYPE_CHECKING:
    import numpy as np

    from ..config import Settings

__all__ = ["Embedder", "EmbeddingModelUnavailable", "LazyEmbedder", "build_embedder"]


@runtime_checkable
class Embedder(Protocol):
    """Turns text into L2-normalised float32 vectors.

    `model` is a stable name for the vector space (stored next to the vectors: vectors made under
    another name must be recomputed, not compared); `dimensions` is the vector length.
    """

    @property
    def model(self) -> str: ...

    @property
    def dimensions(self) -> int: ...

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        """float32 array of shape (len(texts), dimensions), one unit-length row per text."""
        ...

    def embed_query(self, text: str) -> np.ndarray:
        """float32 array of shape (dimensions,), unit length."""
        ...

    def warm_up(self) -> None:
        """Load now rather than on first use (raises what the first use would raise)."""
        ...


class LazyEmbedder:
    """An Embedder that builds the real one on first use: once per process, thread-safely.

    `model` and `dimensions` may be given up front (then reading them loads nothing); when
    they are not, reading them loads the embedder.
    """

    def __init__(self, factory: Callable[[], Embedder], *, model: str | Callable[[], str] | None = None,
                 dimensions: int | None = None) -> None:
        self._factory = factory
        self._model = model
        self._dimensions = dimensions
        self._lock = threading.Lock()
        self._impl: Embedder | None = None
        self._pid = os.getpid()
        _LIVE.add(self)

    @property
    def model(self) -> str:
        if self._model is None:
            return self._get().model
        return self._model() if callable(self._model) else self._model

    @property
    def dimensions(self) -> int:
        return self._dimensions if self._dimensions is not None else self._get().dimensions

    @property
    def loaded(self) -> bool:
        """Whether this process has loaded the embedder."""
        return self._impl is not None and self._pid == os.getpid()

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        return self._get().embed_documents(texts)

    def embed_query(self, text: str) -> np.ndarray:
        return self._get().embed_query(text)

    def warm_up(self) -> None:
        self._get().warm_up()

    def close(self) -> None:
        """Release what the loaded embedder holds (a provider's connections); it reloads if used again."""
        with self._lock:
            impl, self._impl = (self._impl, None) if self._pid == os.getpid() else (None, self._impl)
        close = getattr(impl, "close", None)
        if close is not None:
            close()

    def _get(self) -> Embedder:
        impl = self._impl
        if impl is not None and self._pid == os.getpid():
            return impl
        with self._lock:
            if self._pid != os.getpid():  # forked without os.register_at_fork having run
                self._forget_inherited()
            if self._impl is None:
                self._impl = self._factory()
            return self._impl

    def _forget_inherited(self) -> None:
        # A copy of the parent's session: never run it, never free it here (freeing touches the
        # parent's allocator state); its pages stay shared copy-on-write with the parent.
        if self._impl is not None:
            _ABANDONED.append(self._impl)
        self._impl = None
        self._pid = os.getpid()

    def _after_fork_in_child(self) -> None:
        self._lock = threading.Lock()  # another thread may have held it at fork time
        self._forget_inherited()

    def __repr__(self) -> str:
        return f"<LazyEmbedder model={self._model!r} loaded={self.loaded}>"


_LIVE: weakref.WeakSet[LazyEmbedder] = weakref.WeakSet()
_ABANDONED: list[object] = []


def _reset_after_fork() -> None:
    for embedder in list(_LIVE):
        embedder._after_fork_in_child()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_after_fork)


def build_embedder(settings: Settings, *,
                   quantize: Callable[[], str | None] | None = None) -> LazyEmbedder | None:
    """The embedder MEMORY_API_EMBEDDINGS asks for (None when it is `off`). Nothing loads yet.
    `quantize`: asked once, on first use, which quantised copy of the shipped model runs (a recipe of
    embeddings/quantize.py, or None: the model as shipped). Without it, as MEMORY_API_EMBEDDING_QUANTIZE
    says, `auto` meaning the newest recipe when the onnx package is installed; Services passes one that
    also asks Redis which model made the deployment's vectors."""
    kind = settings.embeddings
    if kind == "off":
        return None
    if kind == "local":
        from . import onnx_local

        if settings.embedding_model_path:
            directory = settings.embedding_model_path
            return LazyEmbedder(
                lambda: loaded_model(onnx_local.model_files_in(directory), settings.embedding_threads))
        quantized = _once(quantize or (lambda: quantize_recipe(settings)))

        def files() -> onnx_local.ModelFiles:
            return onnx_local.shipped_model_files(quantized=quantized(),
                                                  cache_dir=_quantized_cache_dir() if quantized() else None)

        return LazyEmbedder(
            lambda: loaded_model(files(), settings.embedding_threads),
            model=lambda: onnx_local.shipped_model_name(quantized()),
            dimensions=onnx_local.SHIPPED_DIMENSIONS)
    if kind == "provider":
        from . import provider

        return LazyEmbedder(lambda: provider.ProviderEmbedder(settings), model=provider.model_name(settings),
                            dimensions=provider.known_dimensions(settings))
    from ..config import ConfigError

    raise ConfigError(f"MEMORY_API_EMBEDDINGS={kind!r}: expected local, provider or off.")


_MODELS: dict[tuple, Embedder] = {}
_MODELS_LOCK = threading.Lock()


def loaded_model(files, threads: int) -> Embedder:
    """The local model in `files`, loaded once per process and shared (an OnnxEmbedder is thread-safe
    and holds nothing to close): every Services of one process (the tests build hundreds; a process
    that reconnects builds a new one) pays the ~200 ms load once. Keyed by the process (a forked child
    loads its own, see LazyEmbedder) and by the files' size and mtime, so a replaced model is loaded anew
    and verified again."""
    from . import onnx_local

    def stamp(path: Path) -> tuple:
        try:
            info = path.stat()
        except OSError:
            return (str(path), None)  # missing: the load below says so, and nothing is cached
        return (str(path), info.st_size, info.st_mtime_ns)

    key = (os.getpid(), files, threads, stamp(Path(files.model)), stamp(Path(files.tokenizer)))
    with _MODELS_LOCK:
        model = _MODELS.get(key)
        if model is None:
            model = _MODELS[key] = onnx_local.OnnxEmbedder(files, threads=threads)
        return model


def quantize_recipe(settings: Settings) -> str | None:
    """MEMORY_API_EMBEDDING_QUANTIZE for the shipped model: the newest recipe, or None (as shipped);
    `auto` resolved by what is installed."""
    from .quantize import RECIPE, can_quantize

    if settings.embedding_quantize == "auto":
        return RECIPE if can_quantize() else None
    return RECIPE if settings.embedding_quantize == "on" else None


def _quantized_cache_dir():
    from .quantize import default_cache_dir

    return default_cache_dir()


def _once(decide: Callable[[], T]) -> Callable[[], T]:
    """`decide`, asked on the first call only (thread-safely): the model's name and the model it loads
    must come from one decision."""
    lock = threading.Lock()
    decided: list[T] = []

    def decision() -> T:
        if not decided:
            with lock:
                if not decided:
                    decided.append(decide())
        return decided[0]

    return decision
