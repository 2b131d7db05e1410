"""Hybrid ranking's arithmetic (services/fusion.py): meaning plus the square of keyword coverage, absolute
scores, and conversation neighbours lending each other relevance."""

from __future__ import annotations

import pytest

from memory_api.index.query import KeywordMatch, idf
from memory_api.services.fusion import NEIGHBOUR_SHARE, calibrated_fusion, with_neighbours


def fuse(keyword: KeywordMatch, semantic, *, weight: float, leaders: int | None = None):
    """calibrated_fusion of the best `leaders` keyword matches (all by default) and the semantic list."""
    best = sorted(keyword.scores, key=lambda pair: pair[1], reverse=True)[:leaders]
    return calibrated_fusion(keyword, best, semantic, weight=weight, bm25_of=dict(keyword.scores).get)


def test_a_full_keyword_match_adds_the_weight_and_a_partial_one_its_square():
    keyword = KeywordMatch([(1, 10.0), (2, 5.0)], attainable=10.0)
    fused = dict(fuse(keyword, [(1, 0.2), (2, 0.2), (3, 0.5)], weight=4.0))
    assert fused[1] == pytest.approx(0.2 + 4.0)
    assert fused[2] == pytest.approx(0.2 + 4.0 * 0.25)
    assert fused[3] == pytest.approx(0.5)  # meaning only


def test_a_word_shared_by_chance_does_not_outweigh_meaning():
    """One ordinary word of a long question (a fifth of its weight) adds 5 * 0.04 = 0.2: less than the
    gap between a memory the question means (cosine 0.55) and a chance one (0.3)."""
    keyword = KeywordMatch([(7, 2.0)], attainable=10.0)
    ranked = [d for d, _ in fuse(keyword, [(1, 0.55), (7, 0.3)], weight=5.0)]
    assert ranked == [1, 7]


def test_scores_do_not_depend_on_how_deep_the_lists_were_read():
    """Absolute scores: reading 800 neighbours (a chat's context) or 50 (a search) ranks the leaders alike."""
    semantic = [(i, 0.9 - i * 0.001) for i in range(800)]
    keyword = KeywordMatch([(10, 9.0), (11, 8.0)], attainable=30.0)
    shallow = fuse(keyword, semantic[:50], weight=5.0)[:5]
    deep = fuse(keyword, semantic, weight=5.0)[:5]
    assert shallow == deep


def test_a_memory_absent_from_the_nearest_read_scores_as_the_least_similar_read():
    keyword = KeywordMatch([(9, 10.0)], attainable=10.0)
    fused = dict(fuse(keyword, [(1, 0.6), (2, 0.1)], weight=1.0))
    assert fused[9] == pytest.approx(0.1 + 1.0)


def test_a_memory_found_by_meaning_keeps_its_keyword_evidence_beyond_the_keyword_leaders():
    keyword = KeywordMatch([(1, 9.0), (2, 8.0), (3, 4.0)], attainable=10.0)
    fused = dict(fuse(keyword, [(3, 0.5), (4, 0.5)], weight=5.0, leaders=2))
    assert fused[3] == pytest.approx(0.5 + 5.0 * 0.16)  # not a leader, still its coverage
    assert fused[4] == pytest.approx(0.5) and set(fused) == {1, 2, 3, 4}


def test_coverage_counts_a_word_no_memory_has_at_full_weight():
    """"Write a haiku about rain": no memory has "haiku", so rain alone is a third of the question at most."""
    n = 100
    attainable = (idf(n, 0) + idf(n, 3) + idf(n, 10)) * 2.2  # haiku: none, rain: 3, write: 10
    rain_only = idf(n, 3) * 2.2
    assert KeywordMatch([], attainable).coverage(rain_only) < 0.45
    assert KeywordMatch([], attainable).coverage(attainable * 2) == 1.0
    assert KeywordMatch([], 0.0).coverage(3.0) == 0.0


def test_neighbours_in_a_conversation_lend_each_other_relevance():
    scored = [("question", 0.9, ("c1", 4)), ("answer", 0.5, ("c1", 5)), ("other", 0.55, None),
              ("far", 0.56, ("c1", 9)), ("elsewhere", 0.2, ("c2", 6))]
    ranked = dict(with_neighbours(scored))
    assert ranked["answer"] == pytest.approx(0.5 + NEIGHBOUR_SHARE * (0.9 - 0.2))
    assert ranked["question"] == pytest.approx(0.9 + NEIGHBOUR_SHARE * (0.5 - 0.2))
    assert ranked["other"] == 0.55 and ranked["far"] == 0.56 and ranked["elsewhere"] == 0.2
    assert [item for item, _ in with_neighbours(scored)][:3] == ["question", "answer", "far"]
    assert with_neighbours([]) == []
