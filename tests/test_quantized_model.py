"""The shipped model's quantised copies: close to the model as shipped, built once and kept, and never
switched under a deployment whose stored vectors another model (as shipped, or an older recipe) made."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

import numpy as np
import pytest

from memory_api.config import Settings
from memory_api.embeddings import build_embedder
from memory_api.embeddings import quantize
from memory_api.embeddings import minilm_graph
from memory_api.embeddings.onnx_local import (
    QUANTIZED_NAMES,
    SHIPPED_MODEL_NAME,
    SHIPPED_QUANTIZED_NAME,
    OnnxEmbedder,
    shipped_model_files,
)
from memory_api.services import Services
from memory_api.store.vectors import VectorStore

TEXTS = ["I am allergic to peanuts.", "Can I eat this satay sauce?", "My car is a blue Volvo.",
         "The quarterly report is due on Friday; finance needs every region's numbers by Wednesday."]


@contextlib.contextmanager
def running(settings: Settings) -> Iterator[Services]:
    services = Services.build(settings)
    try:
        yield services
    finally:
        services.close()


@pytest.fixture
def fresh_memo(monkeypatch):
    """No quantised model kept in this process: the next load goes to the cache directory (or builds)."""
    monkeypatch.setattr(quantize, "_MEMO", {})


@pytest.mark.parametrize("recipe", quantize.RECIPES)
def test_the_quantised_model_is_close_to_the_model_as_shipped_and_named_apart(fresh_memo, recipe):
    as_shipped = OnnxEmbedder(shipped_model_files())
    quantised = OnnxEmbedder(shipped_model_files(quantized=recipe, cache_dir=quantize.default_cache_dir()))
    assert (as_shipped.model, quantised.model) == (SHIPPED_MODEL_NAME, f"all-MiniLM-L6-v2-int8-{recipe}")
    a, b = as_shipped.embed_documents(TEXTS), quantised.embed_documents(TEXTS)
    assert np.allclose(np.linalg.norm(b, axis=1), 1, atol=1e-5)
    assert min(float(x @ y) for x, y in zip(a, b)) > 0.97  # the same meaning...
    assert np.abs(a - b).max() > 1e-4  # ...but not the same vectors: hence the other name
    # each text alone: its vector never depends on what else was in the batch
    assert np.abs(b - np.stack([quantised.embed_query(t) for t in TEXTS])).max() < 1e-6


def test_the_quantised_model_is_built_once_and_kept_and_rebuilt_if_damaged(tmp_path, fresh_memo, caplog):
    files = shipped_model_files(quantized=quantize.RECIPE, cache_dir=tmp_path)
    first = OnnxEmbedder(files).embed_query(TEXTS[0])
    kept = sorted(p.name for p in tmp_path.iterdir())
    assert len(kept) == 2 and kept[0].endswith(f"-{quantize.RECIPE}.onnx") and kept[1].endswith(".onnx.sha256")
    model_file = tmp_path / kept[0]

    quantize._MEMO.clear()  # another process: reads the kept copy
    built = []
    real_build = quantize._build
    quantize._build = lambda source, recipe: built.append(1) or real_build(source, recipe)
    try:
        assert np.array_equal(OnnxEmbedder(files).embed_query(TEXTS[0]), first) and not built
        quantize._MEMO.clear()
        model_file.write_bytes(model_file.read_bytes()[:-100] + b"x" * 100)  # damaged on disk
        with caplog.at_level(logging.WARNING, logger="memory_api.embeddings.quantize"):
            assert np.array_equal(OnnxEmbedder(files).embed_query(TEXTS[0]), first)
        assert built == [1] and "damaged" in caplog.text
    finally:
        quantize._build = real_build
    assert quantize._read_cached(tmp_path, model_file.name[:-len(".onnx")]) is not None  # rewritten whole


def test_an_unwritable_cache_only_costs_a_rebuild(tmp_path, fresh_memo):
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the cache directory would go")
    embedder = OnnxEmbedder(shipped_model_files(quantized=quantize.RECIPE, cache_dir=blocker / "models"))
    assert embedder.model == SHIPPED_QUANTIZED_NAME and embedder.embed_query("hello").shape == (384,)


def test_auto_keeps_the_model_that_made_a_deployments_vectors(settings, redis_client):
    """An upgrade must not leave stored vectors that searches skip: a deployment whose vectors the model
    as shipped made keeps it under `auto`, until `on` and a reindex switch it."""
    old = Services.build(settings.replace(embedding_quantize="off"))
    try:
        assert old.check_embedding_model() is None  # records the deployment's model
        stored = old.memories.create("alice", "I am allergic to peanuts.").memory
    finally:
        old.close()
    upgraded = Services.build(settings)  # auto
    try:
        assert upgraded.search.semantic.model() == SHIPPED_MODEL_NAME
        assert upgraded.check_embedding_model() is None
        assert upgraded.search.search("alice", "Can I eat this satay sauce?", mode="semantic").items[0].memory.id \
            == stored.id
    finally:
        upgraded.close()
    with running(settings.replace(embedding_quantize="on")) as switched:
        assert switched.search.semantic.model() == SHIPPED_QUANTIZED_NAME
        assert "memory-api reindex" in switched.check_embedding_model()
        assert switched.reindexer().run(["alice"]).reindexed == 1
        switched.record_embedding_model()
        assert switched.check_embedding_model() is None
    after = Services.build(settings)  # auto again: now the quantised model made the vectors
    try:
        assert after.search.semantic.model() == SHIPPED_QUANTIZED_NAME
        assert after.search.search("alice", "Can I eat this satay sauce?", mode="semantic").items[0].memory.id \
            == stored.id
    finally:
        after.close()


def test_a_new_deployment_gets_the_quantised_model(settings):
    assert build_embedder(Settings()).model == SHIPPED_QUANTIZED_NAME
    fresh = Services.build(settings)
    try:
        assert fresh.search.semantic.model() == SHIPPED_QUANTIZED_NAME
    finally:
        fresh.close()


def test_building_says_nothing_through_the_root_logger(tmp_path):
    """In a fresh process (a root logger with no handler, as in `serve`'s workers): no stray warning, and
    no handler installed on the root logger behind the service's back."""
    import subprocess
    import sys

    script = (
        "import logging, pathlib\n"
        "from memory_api.embeddings.onnx_local import OnnxEmbedder, shipped_model_files\n"
        f"OnnxEmbedder(shipped_model_files(quantized='dynq2', cache_dir=pathlib.Path({str(tmp_path)!r})))\n"
        "print(len(logging.getLogger().handlers))\n")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "pre-processing" not in out.stderr and out.stdout.strip() == "0"


def test_a_deployment_on_an_older_recipe_keeps_it_until_switched(settings, redis_client):
    older = QUANTIZED_NAMES["dynq1"]
    assert older != SHIPPED_QUANTIZED_NAME
    with running(settings) as services:
        VectorStore(services.redis).set_deployment_model(older)  # vectors made by the older recipe
    with running(settings) as upgraded:  # auto
        assert upgraded.search.semantic.model() == older and upgraded.check_embedding_model() is None
        upgraded.memories.create("alice", "I am allergic to peanuts.")
    with running(settings.replace(embedding_quantize="on")) as switched:
        assert switched.search.semantic.model() == SHIPPED_QUANTIZED_NAME
        assert "memory-api reindex" in switched.check_embedding_model()
        assert switched.reindexer().run(["alice"]).reindexed == 1


def test_the_lean_graph_computes_what_the_export_does_or_is_not_used(monkeypatch, fresh_memo):
    """The rebuilt graph is checked against the shipped export before it is quantised: one that computes
    something else (here: its last layer's feed-forward weights swapped) is refused, not run."""
    real = minilm_graph.export_weights

    def swapped(model):
        weights = real(model)
        name = "inner.encoder.layer.5.output.dense.weight"
        weights[name] = weights[name][::-1].copy()
        return weights

    monkeypatch.setattr(minilm_graph, "export_weights", swapped)
    with pytest.raises(quantize.QuantizationUnavailable, match="differs from the shipped model"):
        quantize.quantized_model(shipped_model_files().model.read_bytes(), None, "dynq2")
