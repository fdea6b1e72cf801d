"""The shared exit rule and pool binding."""

from __future__ import annotations

import pytest

from valuegraph.graphs._shared.budget import LoopLimits, exit_reason
from valuegraph.graphs._shared.runtime import bind_pool, pool_for, unbind_pool
from valuegraph.tools.pool import ModelPool


@pytest.mark.parametrize("rounds,calls,history,expected", [
    (0, 0, [], None),
    (3, 0, [0.1, 0.2, 0.3], "rounds"),
    (1, 40, [0.1], "budget"),
    (2, 10, [0.5, 0.4], "no_improvement"),       # patience 1: round 2 did not beat 0.5
    (2, 10, [0.5, 0.6], None),
    (2, 10, [0.5, 0.5], "no_improvement"),       # equal is not better
])
def test_exit_reason(rounds, calls, history, expected):
    limits = LoopLimits(max_rounds=3, max_calls=40, patience=1)
    assert exit_reason(limits, rounds, calls, history) == expected


def test_rounds_checked_before_budget_and_min_improvement():
    assert exit_reason(LoopLimits(2, max_calls=5), 2, 9, []) == "rounds"
    limits = LoopLimits(9, patience=2, min_improvement=0.1)
    assert exit_reason(limits, 3, 0, [0.5, 0.55, 0.58]) == "no_improvement"
    assert exit_reason(limits, 3, 0, [0.5, 0.55, 0.61]) is None


def test_pool_binding():
    pool = ModelPool()
    bind_pool("run-1", pool)
    assert pool_for("run-1") is pool
    unbind_pool("run-1")
    assert pool_for("run-1") is not pool
    assert pool_for("") is pool_for("")
