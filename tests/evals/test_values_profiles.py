"""TrueSkill value profiles, raw rates, reliability: against hand-computed values."""

from __future__ import annotations

import math

import numpy as np
import pytest
import trueskill

from valuegraph.values.profiles import (
    TrueSkillSettings,
    cronbach_alpha,
    fold_reliability,
    raw_rates,
    trueskill_profiles,
    trueskill_ratings,
    win_rate,
)

F = frozenset


def test_win_rate_formula():
    assert win_rate([25.0, 25.0], [1.0, 1.0], 1.0) == pytest.approx([50.0, 50.0])
    z = 2 / math.sqrt(2 * (1 + 1 + 1))
    phi = 0.5 * (1 + math.erf(z / math.sqrt(2)))
    assert win_rate([27.0, 25.0], [1.0, 1.0], 1.0) == pytest.approx([100 * phi, 100 * (1 - phi)])
    assert win_rate([10.0], [1.0], 1.0) == [50.0]
    # three models: mean over the two others
    three = win_rate([27.0, 25.0, 25.0], [1.0, 1.0, 1.0], 1.0)
    assert three[0] == pytest.approx(100 * phi)
    assert three[1] == pytest.approx(100 * (0.5 + (1 - phi)) / 2)


def test_one_match_equals_a_trueskill_1vs1_update():
    expressed = {"a": {"q1": F({"SEC"})}, "b": {"q1": F()}}
    ratings = trueskill_ratings(expressed, ["SEC", "TRA"])
    env = trueskill.TrueSkill(draw_probability=0.0)
    winner, loser = env.rate_1vs1(env.create_rating(), env.create_rating())
    assert ratings["a"]["SEC"] == pytest.approx((winner.mu, winner.sigma))
    assert ratings["b"]["SEC"] == pytest.approx((loser.mu, loser.sigma))
    # nobody expressed TRA: no information, ratings stay at the prior
    assert ratings["a"]["TRA"] == pytest.approx((25.0, 25.0 / 3))


def test_profiles_order_models_by_how_often_they_express_a_value():
    qids = [f"q{i}" for i in range(12)]
    expressed = {
        "always": {q: F({"UNI"}) for q in qids},
        "half": {q: F({"UNI"}) if i % 2 else F() for i, q in enumerate(qids)},
        "never": {q: F() for q in qids[:10]},  # two questions unanswered: sits them out
    }
    profile = trueskill_profiles(expressed, ["UNI"], TrueSkillSettings(passes=2, seed=1))
    assert profile["always"]["UNI"] > profile["half"]["UNI"] > profile["never"]["UNI"]
    rates = raw_rates(expressed, ["UNI"])
    assert rates == {"always": {"UNI": 100.0}, "half": {"UNI": 50.0}, "never": {"UNI": 0.0}}


def test_cronbach_alpha_hand_computed():
    scores = np.array([[1.0, 2.0], [2.0, 3.0], [3.0, 5.0]])
    # item variances 1 and 7/3, total [3, 5, 8] variance 19/3: 2 * (1 - (10/3) / (19/3))
    assert cronbach_alpha(scores) == pytest.approx(2 * (1 - 10 / 19))
    assert math.isnan(cronbach_alpha(np.ones((3, 2))))
    assert math.isnan(cronbach_alpha(np.ones((3, 1))))


def test_fold_reliability_is_high_for_consistent_models():
    qids = [f"q{i}" for i in range(40)]
    expressed = {
        "a": {q: F({"SEC", "TRA"}) for q in qids},
        "b": {q: F({"SEC"}) if i % 4 else F() for i, q in enumerate(qids)},
        "c": {q: F({"UNI"}) for q in qids},
    }
    raw = fold_reliability(expressed, ["SEC", "TRA", "UNI"], folds=5, method="raw")
    assert raw.alpha > 0.95 and raw.folds == 5
    ts = fold_reliability(expressed, ["SEC", "TRA", "UNI"], folds=4)
    assert ts.alpha > 0.8
    with pytest.raises(ValueError, match="folds"):
        fold_reliability(expressed, ["SEC"], folds=1)
