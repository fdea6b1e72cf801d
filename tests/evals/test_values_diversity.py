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
    assert self_bleu(texts, hypotheses=20, references=10, seed=3) == \
        self_bleu(texts, hypotheses=20, references=10, seed=3)
    assert self_bleu(texts, hypotheses=20, references=10, seed=3) != \
        self_bleu(texts, hypotheses=20, references=10, seed=4)


def _questions(n: int, seed: int) -> list[str]:
    """Questions drawn from one fixed distribution, so only the set's size differs."""
    import random

    rng = random.Random(seed)
    subjects = "nurses farmers teachers doctors bankers miners artists students parents".split()
    places = ["in Norway", "in India", "in Chile", "in Japan", "in Quebec", "in Texas"]
    acts = ["be allowed to strike", "pay a special tax", "carry firearms", "publish salaries"]
    times = ["war", "peace", "elections", "a crisis"]
    return [f"Should {rng.choice(subjects)} {rng.choice(places)} {rng.choice(acts)} during "
            f"{rng.choice(times)}?" for _ in range(n)]


def test_self_bleu_with_fixed_references_is_comparable_across_set_sizes():
    from valuegraph.values.diversity import self_bleu_details

    small, large = _questions(21, 1), _questions(300, 2)
    fixed_small = self_bleu_details(small, references=20, hypotheses=60)
    fixed_large = self_bleu_details(large, references=20, hypotheses=60)
    assert fixed_small.references == fixed_large.references == 20
    assert abs(fixed_small.score - fixed_large.score) < 6
    # against all the other texts, the same distribution scores far higher in the larger set
    all_small = self_bleu_details(small, references=10**6, hypotheses=60)
    all_large = self_bleu_details(large, references=10**6, hypotheses=60)
    assert all_large.references == 299 and not all_large.comparable
    assert all_large.score - all_small.score > 15


def test_self_bleu_details_record_their_settings():
    from valuegraph.values.diversity import self_bleu_details

    details = self_bleu_details(_questions(30, 0), references=100, hypotheses=10, seed=2)
    data = details.to_json()
    assert data["texts"] == 30 and data["hypotheses"] == 10 and data["references"] == 29
    assert data["references_requested"] == 100 and data["comparable"] is False
    assert (data["n"], data["tokenizer"], data["smoothing"]) == (4, "13a", "exp")
    assert data["seed"] == 2
    assert self_bleu_details(["one"]).score == 0.0
    with pytest.raises(ValueError, match="references"):
        self_bleu_details(["a", "b"], references=0)


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
    assert report.to_json()["self_bleu_details"]["references"] == 1
