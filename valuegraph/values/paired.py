"""Paired comparisons: the same items scored with and without an intervention.

Used by every "with vs without" evaluation (VILMO's value instructions, IROTE's reflections, a
trained model against its base). For per-item pairs ``(before_i, after_i)``:

- the mean difference ``after - before`` with a **paired bootstrap** interval (items are
  resampled, and each keeps its own pair, so the between-item spread cancels);
- the **exact sign test** (a binomial test of positive vs negative differences, ties dropped;
  ``scipy.stats.binomtest``);
- the **Wilcoxon signed-rank test** (``scipy.stats.wilcoxon``, zero differences dropped with the
  default ``zero_method="wilcox"``); None when too few non-zero pairs are left.

Pairs where either side is missing (None or NaN: an unscored item) are dropped and counted.
``improved`` / ``worsened`` count the pairs that moved in the better / worse direction: up for a
score where higher is better (the default), down where lower is better (violation rates).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

from valuegraph.values.stats import bootstrap_ci


@dataclass(frozen=True)
class PairedComparison:
    """How an intervention changed a per-item score.

    Attributes:
        n: Pairs compared (both sides present).
        dropped: Pairs left out because a side was missing.
        mean_before, mean_after: Means over the compared pairs.
        diff: Mean of ``after - before``.
        diff_low, diff_high: Paired-bootstrap percentile interval of ``diff``.
        improved, worsened, ties: Pairs that moved in the better direction, in the worse one,
            not at all (better: up, or down with ``higher_is_better=False``).
        sign_p: Two-sided exact sign test p-value (1.0 when every pair ties).
        wilcoxon_stat, wilcoxon_p: Wilcoxon signed-rank statistic and two-sided p-value
            (None when fewer than one non-zero difference).
    """

    n: int
    dropped: int
    mean_before: float
    mean_after: float
    diff: float
    diff_low: float
    diff_high: float
    improved: int
    worsened: int
    ties: int
    sign_p: float
    wilcoxon_stat: float | None
    wilcoxon_p: float | None

    def to_json(self) -> dict[str, float | int | None]:
        return asdict(self)


def _present(value: float | None) -> bool:
    return value is not None and not (isinstance(value, float) and math.isnan(value))


def sign_test(differences: Sequence[float]) -> float:
    """Two-sided exact sign test of the differences (zeros dropped)."""
    from scipy.stats import binomtest

    positive = sum(d > 0 for d in differences)
    negative = sum(d < 0 for d in differences)
    if positive + negative == 0:
        return 1.0
    return float(binomtest(positive, positive + negative, 0.5,
                           alternative="two-sided").pvalue)


def wilcoxon_test(differences: Sequence[float]) -> tuple[float | None, float | None]:
    """Wilcoxon signed-rank statistic and two-sided p-value (zeros dropped)."""
    from scipy.stats import wilcoxon

    nonzero = [d for d in differences if d != 0]
    if not nonzero:
        return None, None
    result = wilcoxon(nonzero, zero_method="wilcox", alternative="two-sided")
    return float(result.statistic), float(result.pvalue)


def compare_paired(before: Sequence[float | None], after: Sequence[float | None], *,
                   n_resamples: int = 1000, confidence: float = 0.95, seed: int = 0,
                   higher_is_better: bool = True) -> PairedComparison:
    """Compare per-item scores before and after an intervention (same items, same order).

    ``higher_is_better`` only says which direction ``improved`` counts; the difference, its
    interval and both tests are the same either way.

    Raises:
        ValueError: the two sequences differ in length.
    """
    if len(before) != len(after):
        raise ValueError(f"paired scores need the same items: {len(before)} before, "
                         f"{len(after)} after")
    pairs = [(float(b), float(a)) for b, a in zip(before, after, strict=True)
             if _present(b) and _present(a)]
    dropped = len(before) - len(pairs)
    if not pairs:
        nan = float("nan")
        return PairedComparison(0, dropped, nan, nan, nan, nan, nan, 0, 0, 0, 1.0, None, None)
    diffs = [a - b for b, a in pairs]
    diff, low, high = bootstrap_ci(diffs, lambda d: float(np.mean(d)), n_resamples=n_resamples,
                                   confidence=confidence, seed=seed)
    stat, p = wilcoxon_test(diffs)
    up, down = sum(d > 0 for d in diffs), sum(d < 0 for d in diffs)
    return PairedComparison(
        n=len(pairs), dropped=dropped, mean_before=float(np.mean([b for b, _ in pairs])),
        mean_after=float(np.mean([a for _, a in pairs])), diff=diff, diff_low=low,
        diff_high=high, improved=up if higher_is_better else down,
        worsened=down if higher_is_better else up,
        ties=sum(d == 0 for d in diffs), sign_p=sign_test(diffs), wilcoxon_stat=stat,
        wilcoxon_p=p)
