"""A faster copy of the shipped model: its matrix products in int8, weights and activations.

The shipped all-MiniLM-L6-v2 file stores int8 weights, but as a weight and a
scale that onnxruntime multiplies back out when it loads the model: it runs in
float32, reading ~40 MB of weights per embedding, which on a small VM is most
of an embedding's time. onnxruntime's dynamic quantisation (per output
channel, activations quantised at run time) makes its 36 weight products
MatMulInteger: about 2.7 times faster per embedding, for a point or two of
recall on bench/data/recall_set.json (docs/benchmarks.md).

Recipes (each copy has its own model name, embeddings/onnx_local.py, since their vectors differ):

- ``dynq2`` (new deployments): the model first rebuilt as a lean graph of onnxruntime's fused
  operators (embeddings/minilm_graph.py; checked to give the export's outputs before it is
  quantised), then its 18 weight products and 6 attentions quantised: 52 operators instead of
  261, a quarter faster again, the same recall.
- ``dynq1``: the export's own graph with its 36 weight products quantised; kept for deployments
  whose vectors it made.

Built from the verified shipped bytes on first use (about 3 s), with the `onnx`
package and onnxruntime's quantisation tools, then kept: in this process, and
on disk in the user's cache directory (next to a sha256 of its bytes, checked
on every load; a damaged copy is rebuilt). Nothing is downloaded. The result
depends only on the source bytes and the recipe (the same onnx and onnxruntime
give the same bytes; another version may round a weight differently, which
moves a vector by far less than two memories differ).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

log = logging.getLogger(__name__)

# Per-channel int8 weights, activations quantised at run time (dynamic int8). RECIPE: what a deployment
# without vectors gets.
RECIPES = ("dynq1", "dynq2")
RECIPE = "dynq2"
_MEMO: dict[str, bytes] = {}
_LOCK = threading.Lock()


class QuantizationUnavailable(RuntimeError):
    """The quantised model cannot be built here (a package is missing, or building failed)."""


def can_quantize() -> bool:
    """Whether the packages quantisation needs are installed (checked without importing them)."""
    import importlib.util

    return importlib.util.find_spec("onnx") is not None


def default_cache_dir() -> Path:
    import platformdirs

    return Path(platformdirs.user_cache_dir("memory-api", appauthor=False)) / "models"


def quantized_model(source: bytes, cache_dir: Path | None, recipe: str = RECIPE) -> bytes:
    """The quantised model made from `source` (ONNX bytes already verified by the caller) by `recipe`."""
    if recipe not in RECIPES:
        raise QuantizationUnavailable(f"no quantisation recipe {recipe!r} (known: {', '.join(RECIPES)})")
    key = f"{hashlib.sha256(source).hexdigest()[:24]}-{recipe}"
    with _LOCK:
        if key in _MEMO:
            return _MEMO[key]
        data = _read_cached(cache_dir, key) if cache_dir is not None else None
        if data is None:
            data = _build(source, recipe)
            if cache_dir is not None:
                _write_cached(cache_dir, key, data)
        _MEMO[key] = data
        return data


def _read_cached(cache_dir: Path, key: str) -> bytes | None:
    try:
        data = (cache_dir / f"{key}.onnx").read_bytes()
        digest = (cache_dir / f"{key}.onnx.sha256").read_text().strip()
    except OSError:
        return None
    if hashlib.sha256(data).hexdigest() != digest:
        log.warning("the cached quantised embedding model in %s is damaged: rebuilding it", cache_dir)
        return None
    return data


def _write_cached(cache_dir: Path, key: str, data: bytes) -> None:
    """Best effort (a read-only home only costs the ~3 s rebuild per process): the model first, then
    its digest, each by rename, so a reader never sees half a file or a digest without its model."""
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        for name, content in ((f"{key}.onnx", data),
                              (f"{key}.onnx.sha256", hashlib.sha256(data).hexdigest().encode())):
            fd, tmp = tempfile.mkstemp(dir=cache_dir, prefix=".tmp-")
            with os.fdopen(fd, "wb") as fh:
                fh.write(content)
            os.replace(tmp, cache_dir / name)
    except OSError as exc:
        log.warning("could not keep the quantised embedding model in %s (%s): it is rebuilt per process",
                    cache_dir, exc)


def _build(source: bytes, recipe: str) -> bytes:
    try:
        import onnx
        import onnxruntime as ort
        from onnxruntime.quantization import QuantType, quantize_dynamic
    except ImportError as exc:
        raise QuantizationUnavailable(f"quantising the embedding model needs the onnx package: {exc}") from None
    from .minilm_graph import lean_graph

    with _quiet_root_logger(), tempfile.TemporaryDirectory(prefix="memory-api-quantize-") as tmp:
        folded, lean, quantized = (os.path.join(tmp, f"{name}.onnx") for name in ("folded", "lean", "quantized"))
        try:
            # First let onnxruntime fold the stored weight * scale into plain float weights (what it runs
            # today), so the quantiser sees products with constant weights.
            options = ort.SessionOptions()
            options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
            options.optimized_model_filepath = folded
            options.log_severity_level = 3
            ort.InferenceSession(source, sess_options=options, providers=["CPUExecutionProvider"])
            model = onnx.load(folded)
            if recipe == "dynq1":
                constants = {init.name for init in model.graph.initializer}
                products = [node.name for node in model.graph.node
                            if node.op_type == "MatMul" and any(name in constants for name in node.input)]
                quantize_dynamic(folded, quantized, per_channel=True, weight_type=QuantType.QInt8,
                                 nodes_to_quantize=products)
            else:
                onnx.save(lean_graph(model), lean)
                _check_same_outputs(folded, lean)
                # The fused operators' outputs have no type onnx can infer: they are all float32.
                quantize_dynamic(lean, quantized, per_channel=True, weight_type=QuantType.QInt8,
                                 op_types_to_quantize=["MatMul", "Attention"],
                                 extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
            return Path(quantized).read_bytes()
        except Exception as exc:  # onnx and onnxruntime raise many types (and GraphMismatch)
            raise QuantizationUnavailable(f"quantising the embedding model failed: {exc}") from None


def _check_same_outputs(export: str, lean: str) -> None:
    """The lean graph must compute what the export does: the same token vectors for a padded batch of
    two texts (token ids of the shipped vocabulary, the second row half padding), up to float rounding."""
    import numpy as np
    import onnxruntime as ort

    ids = np.array([[101, 1045, 2572, 11271, 2000, 12943, 1012, 102],
                    [101, 7592, 2088, 102, 0, 0, 0, 0]], dtype=np.int64)
    feeds = {"input_ids": ids, "attention_mask": (ids > 0).astype(np.int64), "token_type_ids": np.zeros_like(ids)}
    outputs = []
    for path in (export, lean):
        options = ort.SessionOptions()
        options.log_severity_level = 3
        session = ort.InferenceSession(path, sess_options=options, providers=["CPUExecutionProvider"])
        wanted = {i.name for i in session.get_inputs()}
        outputs.append(session.run(["last_hidden_state"], {k: v for k, v in feeds.items() if k in wanted})[0])
    real = feeds["attention_mask"].astype(bool)
    difference = float(np.abs(outputs[0][real] - outputs[1][real]).max())
    if difference > 1e-3:
        raise QuantizationUnavailable(f"the rebuilt graph differs from the shipped model by {difference:.2g}")


@contextlib.contextmanager
def _quiet_root_logger() -> Iterator[None]:
    """The quantiser warns through the root logger ("consider pre-processing"), which would also give an
    unconfigured root logger a handler of its own (logging.warning calls basicConfig): for the build,
    the root has a handler that drops everything and warnings are off."""
    root = logging.getLogger()
    placeholder = logging.NullHandler() if not root.handlers else None
    if placeholder is not None:
        root.addHandler(placeholder)
    logging.disable(logging.WARNING)
    try:
        yield
    finally:
        logging.disable(logging.NOTSET)
        if placeholder is not None:
            root.removeHandler(placeholder)
