"""Small statistics shared by the benchmarks: bootstrap confidence intervals."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np


def bootstrap_ci(
    groups: Sequence[object],
    statistic: Callable[[Sequence[object]], float],
    *,
    n_resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> tuple[float, float, float]:
    """(point estimate, low, high): percentile bootstrap over ``groups`` resampled with
    replacement (resample whole prompts, not completions, so within-prompt correlation stays).

    A statistic that is undefined on a resample (returns NaN) is skipped; with one group or
    none the interval collapses to the point estimate.
    """
    point = float(statistic(groups))
    if len(groups) < 2:
        return point, point, point
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(n_resamples):
        picks = rng.integers(0, len(groups), len(groups))
        value = statistic([groups[i] for i in picks])
        if not np.isnan(value):
            values.append(value)
    if not values:
        return point, float("nan"), float("nan")
    alpha = (1 - confidence) / 2
    low, high = np.quantile(values, [alpha, 1 - alpha])
    return point, float(low), float(high)
