"""What every embedder shares: its error, row normalisation (numpy is imported on use), and where
local inference runs."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    import numpy as np

T = TypeVar("T")


class EmbeddingModelUnavailable(RuntimeError):
    """The local embedding model cannot be used: a file is missing, altered or unreadable."""


def l2_normalise(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length, as float32 (an all-zero row stays zero)."""
    import numpy as np

    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    return (vectors / np.maximum(norms, 1e-12)).astype(np.float32, copy=False)


def off_the_event_loop(work: Callable[..., T], *args: Any) -> T:
    """Run CPU-bound native work (an onnxruntime run) where it cannot stall other requests.

    Under gevent (serve's default worker), every request of a worker shares one OS thread: a 5 ms
    local embedding would hold up every other request of that worker for as long, and a 256-token
    batch for a hundred. gevent's thread pool runs it on a native thread instead, and onnxruntime
    releases the GIL while it computes, so the worker's other greenlets go on meanwhile. Outside
    gevent (gthread workers, the CLI, tests) it is a plain call: threads already run beside it.
    """
    monkey = sys.modules.get("gevent.monkey")
    if monkey is not None and monkey.is_module_patched("threading"):
        import gevent

        return gevent.get_hub().threadpool.apply(work, args)
    return work(*args)
