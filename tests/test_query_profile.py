"""A user's query profile: fitted on their own vectors, applied to their queries, gone with their vectors."""

from __future__ import annotations

import numpy as np
import pytest

from helpers import with_provider
from memory_api.services import Services
from memory_api.services.query_profile import PROFILE_MIN_VECTORS, QueryProfile, needs_fit
from memory_api.store import keys as redis_keys

TOPICS = ("garden", "car", "tennis", "work", "cooking", "travel", "music", "books", "health", "money")


def notes(count: int) -> list[dict]:
    return [{"content": f"Note {i} about my {TOPICS[i % len(TOPICS)]}: item {i * 7919 % 1000} of the list."}
            for i in range(count)]


def stored_profile(redis_client, user: str) -> QueryProfile | None:
    blob = redis_client.hget(redis_keys.memory_stats(user), "vprofile")
    return QueryProfile.decode(blob) if blob else None


def unit(rows):
    rows = np.asarray(rows, dtype=np.float32)
    return rows / np.linalg.norm(rows, axis=-1, keepdims=True)


def test_a_profile_removes_the_mean_and_top_directions_and_survives_encoding():
    rng = np.random.default_rng(1)
    shared = rng.normal(size=16)
    vectors = unit(rng.normal(size=(300, 16)) * 0.3 + shared)  # one strong common direction
    profile = QueryProfile.fit("m", vectors, fitted_on=300, k=2)
    query = unit(rng.normal(size=16) + shared)
    adjusted = profile.apply(query)
    assert abs(np.linalg.norm(adjusted) - 1) < 1e-5
    assert np.abs(profile.directions @ adjusted).max() < 1e-5  # nothing left along the removed directions
    # the shared direction dominated the raw query; the adjusted one keeps what is particular to it
    assert abs(adjusted @ unit(shared)) < abs(query @ unit(shared))
    again = QueryProfile.decode(profile.encode())
    assert again.model == "m" and again.fitted_on == 300
    assert np.allclose(again.mean, profile.mean) and np.allclose(again.directions, profile.directions)
    assert (again.scale, again.offset) == pytest.approx((profile.scale, profile.offset), abs=1e-6)
    assert QueryProfile.decode(b"not a profile") is None
    assert QueryProfile.decode(profile.encode()[:-4]) is None
    assert QueryProfile.decode(profile.encode()[:-8]) is None  # a profile from before the scale: fitted again


def test_a_profile_maps_adapted_similarities_back_to_the_plain_scale():
    """An adapted query is less similar to every memory (what all share is gone); to_plain brings its
    similarities back to the plain query's scale, so one relevance floor suits users with and without one."""
    rng = np.random.default_rng(2)
    shared = rng.normal(size=32)
    vectors = unit(rng.normal(size=(400, 32)) * 0.4 + shared)
    profile = QueryProfile.fit("m", vectors, fitted_on=400)
    assert profile.scale > 0
    query = unit(rng.normal(size=32) * 0.4 + shared)
    plain, adapted = vectors @ query, vectors @ profile.apply(query)
    assert adapted.mean() < plain.mean() - 0.2
    mapped = np.array([profile.to_plain(s) for s in adapted])
    assert abs(mapped.mean() - plain.mean()) < 0.05
    assert np.array_equal(np.argsort(mapped), np.argsort(adapted))  # the order is the adapted one


def test_when_a_profile_is_fitted():
    profile = QueryProfile("m", 200, np.zeros(4, np.float32), np.eye(4, dtype=np.float32)[:1])
    assert not needs_fit(None, "m", PROFILE_MIN_VECTORS - 1)  # too few memories: queries stay as they are
    assert needs_fit(None, "m", PROFILE_MIN_VECTORS)
    assert not needs_fit(profile, "m", 249)
    assert needs_fit(profile, "m", 250)  # grown by a quarter
    assert needs_fit(profile, "other", 200)  # another model's vectors


@pytest.fixture
def local(settings):
    svc = Services.build(settings)
    yield svc
    svc.close()


def test_searches_fit_a_profile_that_goes_with_the_vectors(local, redis_client):
    local.memories.create_batch("alice", notes(PROFILE_MIN_VECTORS - 1))
    local.search.search("alice", "what do I grow?", mode="semantic")
    assert stored_profile(redis_client, "alice") is None  # 99 memories: no profile yet

    last = local.memories.create("alice", "I grow tomatoes on the balcony.").memory
    plain = local.search.search("alice", "what do I grow?", mode="semantic", limit=3)
    profile = stored_profile(redis_client, "alice")
    assert profile is not None and profile.fitted_on == PROFILE_MIN_VECTORS
    assert profile.model == local.search.semantic.model()
    assert plain.items[0].memory.id == last.id
    # the profile is what the search used: the query's vector is the adjusted one
    raw = local.search.semantic._embedder.embed_query("what do I grow?")
    used = np.frombuffer(local.search.semantic.user_query_vector("alice", "what do I grow?"), "<f4")
    assert np.allclose(used, profile.apply(raw)) and not np.allclose(used, raw, atol=1e-3)
    assert local.check_consistency("alice").ok  # check reads the stats hash: the profile is no counter

    before = redis_client.hget(redis_keys.memory_stats("alice"), "vprofile")
    local.search.search("alice", "tennis", mode="hybrid")
    assert redis_client.hget(redis_keys.memory_stats("alice"), "vprofile") == before  # not refitted per search
    local.memories.create_batch("alice", [{"content": n["content"] + " (more)"} for n in notes(30)])
    local.search.search("alice", "tennis", mode="hybrid")
    assert stored_profile(redis_client, "alice").fitted_on == PROFILE_MIN_VECTORS + 30  # grown by a quarter
    assert stored_profile(redis_client, "bob") is None  # per user

    local.memories.delete_all("alice")  # derived from the memories: it goes with them
    assert redis_client.hget(redis_keys.memory_stats("alice"), "vprofile") is None


def test_a_reindex_drops_the_profile_of_the_old_model(settings, fake_llm, redis_client):
    provider = Services.build(with_provider(settings, fake_llm, embeddings="provider", embedding_dimensions=64))
    try:
        provider.memories.create_batch("alice", notes(PROFILE_MIN_VECTORS))
        provider.search.search("alice", "tennis", mode="semantic")
        assert stored_profile(redis_client, "alice").directions.shape[1] == 64
    finally:
        provider.close()
    local = Services.build(settings)
    try:
        assert local.search.search("alice", "tennis", mode="semantic").items == []  # another model's vectors
        local.reindexer().run(["alice"])
        assert stored_profile(redis_client, "alice") is None  # went with the old vectors
        assert local.search.search("alice", "tennis", mode="semantic").items
        assert stored_profile(redis_client, "alice").directions.shape[1] == 384
    finally:
        local.close()


def test_the_profile_can_be_switched_off(settings, redis_client):
    svc = Services.build(settings.replace(query_profile=False))
    try:
        svc.memories.create_batch("alice", notes(PROFILE_MIN_VECTORS))
        svc.search.search("alice", "tennis", mode="semantic")
        assert stored_profile(redis_client, "alice") is None
        raw = svc.search.semantic._embedder.embed_query("tennis")
        assert np.allclose(np.frombuffer(svc.search.semantic.user_query_vector("alice", "tennis"), "<f4"), raw)
    finally:
        svc.close()
