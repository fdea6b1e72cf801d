"""Corpus de-duplication with the hashing embedder (no model)."""

from __future__ import annotations

import numpy as np
import pytest

from valuegraph.graphs.irote.dedup import hashing_vectors, novel_lines

CORPUS = ["I love trying new foods, e.g.: sushi"]


def test_near_duplicates_of_the_corpus_and_of_each_other_stay_out():
    candidates = ["I love trying new foods, e.g.: sushi!", "I plan my week on Sundays",
                  "I plan my week on Sunday", CORPUS[0], "I plan my week on Sundays"]
    assert novel_lines(CORPUS, candidates, 0.8) == ["I plan my week on Sundays"]
    # without a threshold only exact repeats are dropped
    assert novel_lines(CORPUS, candidates, None) == candidates[:3]
    assert novel_lines([], ["a b c"], 0.8) == ["a b c"]


def test_hashing_vectors_are_unit_and_stable():
    vectors = hashing_vectors(["Same  text", "same text", "other words entirely"])
    assert np.linalg.norm(vectors, axis=1) == pytest.approx([1.0, 1.0, 1.0])
    assert float(vectors[0] @ vectors[1]) == pytest.approx(1.0)
    assert float(vectors[0] @ vectors[2]) < 0.5
