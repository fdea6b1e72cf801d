"""The UCB bandit: arm selection order on a scripted history, and updates, by hand."""

from __future__ import annotations

import math

import pytest

from valuegraph.graphs.adaem.bandit import (
    replay,
    select_arm,
    step_reward,
    ucb_horizon,
    ucb_score,
    update_arm,
)


def test_untried_arms_first_in_order():
    assert select_arm(["a", "b", "c"], {}, 10) == "a"
    assert select_arm(["a", "b", "c"], {"a": {"count": 1, "value": 9.0}}, 10) == "b"
    assert select_arm(["a", "b", "c"], {"a": {"count": 1, "value": 9.0},
                                        "c": {"count": 0, "value": 0.0}}, 10) == "b"
    with pytest.raises(ValueError, match="no arms"):
        select_arm([], {}, 10)


def test_ucb_uses_ln_budget_hand_computed():
    arms = {"a": {"count": 2, "value": 5.0}, "b": {"count": 1, "value": 4.0},
            "c": {"count": 3, "value": 5.5}}
    # a: 5 + sqrt(2 ln 10 / 2) = 6.5174; b: 4 + sqrt(2 ln 10) = 6.1460;
    # c: 5.5 + sqrt(2 ln 10 / 3) = 6.7390
    assert ucb_score(arms["a"], 10) == pytest.approx(5 + math.sqrt(math.log(10)))
    assert ucb_score(arms["c"], 10) == pytest.approx(6.7390, abs=1e-4)
    assert select_arm(["a", "b", "c"], arms, 10) == "c"
    # a longer horizon favours the rarely pulled arm: b = 4 + sqrt(2 ln 1e6) = 9.26
    assert select_arm(["a", "b", "c"], arms, 10**6) == "b"
    # ties go to the earlier arm
    tie = {"x": {"count": 1, "value": 1.0}, "y": {"count": 1, "value": 1.0}}
    assert select_arm(["y", "x"], tie, 5) == "y"


def test_update_is_a_running_mean():
    stats = update_arm(None, 4.0)
    assert stats == {"count": 1, "value": 4.0}
    stats = update_arm(stats, 6.0)
    assert stats == {"count": 2, "value": 5.0}
    stats = update_arm(stats, 2.0)
    assert stats == {"count": 3, "value": 4.0}


def test_scripted_history_selection_order():
    """B = 6 steps over three arms with fixed rewards a=2, b=6, c=4 (hand-computed below).

    Steps 1-3 pull a, b, c (untried). Then with ln 6 = 1.7918 and C = 1:
    bonus sqrt(2 ln 6) = 1.8930 -> a 3.893, b 7.893, c 5.893: pull b (C_b = 2, bonus 1.3386
    -> b 7.339); pull b again (C_b = 3, bonus 1.0929 -> 7.093); pull b (7.093 > 5.893).
    """
    rewards = {"a": 2.0, "b": 6.0, "c": 4.0}
    arms: dict[str, dict[str, float]] = {}
    chosen = []
    for _ in range(6):
        arm = select_arm(["a", "b", "c"], arms, ucb_horizon(6, len(chosen)))
        chosen.append(arm)
        arms[arm] = update_arm(arms.get(arm), rewards[arm])
    assert chosen == ["a", "b", "c", "b", "b", "b"]
    assert arms == {"a": {"count": 1, "value": 2.0}, "b": {"count": 4, "value": 6.0},
                    "c": {"count": 1, "value": 4.0}}
    assert replay([(a, rewards[a]) for a in chosen]) == arms


def test_exploration_returns_to_a_good_arm_after_a_bad_step():
    # b's first step produced nothing (reward 0); c is mediocre; UCB with B = 100
    arms = {"a": {"count": 3, "value": 3.0}, "b": {"count": 1, "value": 0.0},
            "c": {"count": 3, "value": 3.5}}
    # a 3 + sqrt(2 ln 100 / 3) = 4.752; b 0 + sqrt(2 ln 100) = 3.035; c 5.252
    assert select_arm(["a", "b", "c"], arms, 100) == "c"


def test_horizon_is_budget_or_running_count():
    assert ucb_horizon(1500, 7) == 1500
    assert ucb_horizon(None, 0) == 2
    assert ucb_horizon(None, 9) == 10


def test_step_reward_mean_or_empty_reward():
    assert step_reward([3.0, 5.0], 0.0) == 4.0
    assert step_reward([], 0.0) == 0.0
    assert step_reward([], -1.0) == -1.0
