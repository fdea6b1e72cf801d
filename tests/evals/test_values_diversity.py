"""Diversity metrics of a question set (Table 1): Self-BLEU, distinct-n, similarity, length."""

from __future__ import annotations

import numpy as np
import pytest

from valuegraph.values.diversity import (
    distinct_n,
    diversity_report,
    mean_length,
    mean_similarity,
    self_bleu,
    tokens,
)


def test_distinct_n_hand_computed():
    # bigrams: (a,b) (b,a) (a,b) -> 2 unique of 3
    assert distinct_n(["a b a b"], 2) == pytest.approx(2 / 3)
    assert distinct_n(["a b", "a b"], 1) == pytest.approx(2 / 4)
    assert distinct_n(["single"], 2) == 0.0
    assert tokens("Should we? Yes!") == ["should", "we", "?", "yes", "!"]


def test_self_bleu_identical_is_100_and_distinct_is_low():
    same = ["should the state pay artists a basic income ?"] * 3
    assert self_bleu(same) == pytest.approx(100.0)
    different = ["should nurses strike during a pandemic ?",
                 "is nuclear power the answer to climate change ?",
                 "may parents homeschool without any inspection ?"]
    assert self_bleu(different) < 20
    assert self_bleu(["only one"]) == 0.0


def test_self_bleu_samples_large_sets_reproducibly():
    texts = [f"question number {i} about topic {i % 7} ?" for i in range(60)]
    assert self_bleu(texts, max_samples=20, seed=3) == self_bleu(texts, max_samples=20, seed=3)


def test_mean_similarity_over_distinct_pairs():
    vectors = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]])
    assert mean_similarity(vectors) == pytest.approx(1 / 3)
    assert mean_similarity(vectors[:1]) == 0.0


def test_report_collects_all_figures():
    texts = ["a b c d", "e f g h"]
    report = diversity_report(texts, lambda t: np.eye(len(t)))
    assert report.count == 2 and report.mean_similarity == 0.0
    assert report.distinct_2 == 1.0 and report.mean_length == mean_length(texts) == 4.0
    assert not report.sampled
