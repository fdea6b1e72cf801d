"""Paired statistics against scipy and hand computations on fixed data."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from valuegraph.values.paired import compare_paired, sign_test, wilcoxon_test

BEFORE = [0.9, 0.8, 0.7, 0.9, 0.6, 0.5, 0.8, 0.4, None, 0.7]
AFTER = [0.3, 0.8, 0.2, 0.5, 0.7, 0.1, 0.3, 0.4, 0.2, float("nan")]


def test_against_scipy_and_by_hand():
    result = compare_paired(BEFORE, AFTER, n_resamples=2000, seed=3)
    pairs = [(b, a) for b, a in zip(BEFORE, AFTER, strict=True)
             if b is not None and not math.isnan(a)]
    diffs = [a - b for b, a in pairs]
    assert (result.n, result.dropped) == (8, 2)
    assert result.diff == pytest.approx(np.mean(diffs)) == pytest.approx(-0.2875)
    assert (result.improved, result.worsened, result.ties) == (1, 5, 2)
    # sign test: 1 positive of 6 non-zero, two-sided: 2 * P(X <= 1), X ~ Bin(6, 0.5) = 14/64
    assert result.sign_p == pytest.approx(14 / 64)
    assert result.sign_p == pytest.approx(stats.binomtest(1, 6, 0.5).pvalue)
    reference = stats.wilcoxon([d for d in diffs if d != 0])
    assert result.wilcoxon_stat == pytest.approx(reference.statistic)
    assert result.wilcoxon_p == pytest.approx(reference.pvalue)
    assert result.diff_low <= result.diff <= result.diff_high < 0


def test_paired_bootstrap_resamples_whole_pairs():
    # every item moves by exactly -0.1, whatever its level: a paired interval has no width
    before = [0.1, 0.9, 0.5, 0.3, 0.7]
    result = compare_paired(before, [b - 0.1 for b in before], seed=1)
    assert result.diff == pytest.approx(-0.1)
    assert result.diff_low == pytest.approx(-0.1) and result.diff_high == pytest.approx(-0.1)


def test_edge_cases():
    assert sign_test([0.0, 0.0]) == 1.0
    assert wilcoxon_test([0.0]) == (None, None)
    empty = compare_paired([None], [0.5])
    assert (empty.n, empty.dropped) == (0, 1) and math.isnan(empty.diff)
    with pytest.raises(ValueError, match="same items: 2 before, 1 after"):
        compare_paired([0.1, 0.2], [0.1])
