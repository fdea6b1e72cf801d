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


# -- scale: normalised arm values, empty steps at the lowest reward, τ relative to S's spread --

def test_empty_step_counts_and_is_valued_at_the_lowest_observed_reward():
    from valuegraph.graphs.adaem.bandit import arm_value

    assert step_reward([], None) is None
    stats = update_arm(update_arm(None, 2.0), None)
    assert stats == {"count": 2, "value": 2.0, "empty": 1}
    # the empty step is worth the run's lowest step reward whenever the arm is scored
    assert arm_value(stats, low=-1.0) == pytest.approx((2.0 - 1.0) / 2)
    assert arm_value(stats, low=1.0) == pytest.approx(1.5)
    assert arm_value(update_arm(None, None), low=None) is None
    assert arm_value(update_arm(None, None), low=0.5) == 0.5
    # a further reward averages over the scored steps only
    assert update_arm(stats, 4.0) == {"count": 3, "value": 3.0, "empty": 1}
    assert replay([("a", 2.0), ("a", None), ("a", 4.0)]) == {
        "a": {"count": 3, "value": 3.0, "empty": 1}}


def test_an_empty_step_no_longer_beats_arms_with_negative_scores():
    from valuegraph.graphs.adaem.bandit import update_scale

    # S negative everywhere: a fixed empty reward of 0 made the empty arm look best
    scale = update_scale(update_scale({}, -2.0, [-2.5, -1.5]), -1.0, [-1.0])
    assert scale == {"reward_low": -2.0, "reward_high": -1.0, "s_low": -2.5, "s_high": -1.0}
    old = {"good": {"count": 2, "value": -1.0}, "empty": {"count": 2, "value": 0.0}}
    assert select_arm(["good", "empty"], old, 100) == "empty"
    new = {"good": {"count": 2, "value": -1.0}, "empty": update_arm(update_arm(None, None), None)}
    assert select_arm(["good", "empty"], new, 100, scale, normalised=True) == "good"
    assert select_arm(["good", "empty"], new, 100, scale) == "good"


def test_normalised_ucb_hand_computed():
    from valuegraph.graphs.adaem.bandit import normalise

    scale = {"reward_low": 1.0, "reward_high": 3.0}
    assert normalise(2.5, scale) == pytest.approx(0.75)
    assert normalise(None, scale) == 0.0 and normalise(2.0, {}) == 0.0
    arms = {"a": {"count": 2, "value": 3.0}, "b": {"count": 1, "value": 1.5}}
    # a: 1 + sqrt(2 ln 10 / 2) = 2.517; b: 0.25 + sqrt(2 ln 10) = 2.396
    assert ucb_score(arms["a"], 10, scale, True) == pytest.approx(1 + math.sqrt(math.log(10)))
    assert ucb_score(arms["b"], 10, scale, True) == pytest.approx(
        0.25 + math.sqrt(2 * math.log(10)))
    assert select_arm(["a", "b"], arms, 10, scale, True) == "a"
    # on a raw scale of S three times as wide the bonus barely matters: b is never revisited
    wide = {"a": {"count": 2, "value": 9.0}, "b": {"count": 1, "value": 4.5}}
    assert select_arm(["a", "b"], wide, 10) == "a"
    wide_scale = {"reward_low": 3.0, "reward_high": 9.0}
    assert ucb_score(wide["b"], 10, wide_scale, True) == pytest.approx(
        ucb_score(arms["b"], 10, scale, True))  # normalised: the same decision on any scale


def test_refine_threshold_relative_to_the_spread_of_s():
    from valuegraph.graphs.adaem.bandit import PAPER_S_SPREAD, refine_threshold

    assert PAPER_S_SPREAD == pytest.approx(6.3)
    assert refine_threshold(0.5, "absolute", {"s_low": 0.0, "s_high": 2.0}) == 0.5
    # 0.5 on the paper's 6.3-wide range is 8% of the spread: 0.159 on a 2-wide one
    assert refine_threshold(0.5, "spread", {"s_low": 0.0, "s_high": 2.0}) == pytest.approx(
        0.5 * 2.0 / 6.3)
    # nothing observed yet (or one value): τ as given
    assert refine_threshold(0.5, "spread", {}) == 0.5
    assert refine_threshold(0.5, "spread", {"s_low": 1.0, "s_high": 1.0}) == 0.5
    with pytest.raises(ValueError, match="tau_mode"):
        refine_threshold(0.5, "relative", {})
