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


# -- question order: several shuffles, their SD; partial play ---------------------------------

def _random_expressed(seed: int, questions: int = 20, models: int = 3) -> dict:
    import random

    rng = random.Random(seed)
    return {f"m{m}": {f"q{i}": F({"UNI"}) if rng.random() < 0.3 + 0.2 * m else F()
                      for i in range(questions)} for m in range(models)}


def test_profile_is_the_mean_of_shuffles_and_reports_their_sd():
    from valuegraph.values.profiles import trueskill_profile_stats

    expressed = _random_expressed(0)
    settings = TrueSkillSettings(seed=5, shuffles=4)
    stats = trueskill_profile_stats(expressed, ["UNI"], settings)
    singles = [trueskill_profiles(expressed, ["UNI"], TrueSkillSettings(seed=5, shuffles=1))]
    # shuffle 0 is the single-order run; shuffles 1..3 draw their own orders
    runs = []
    for s in range(4):
        ratings = trueskill_ratings(expressed, ["UNI"], settings, shuffle=s)
        mu = [ratings[m]["UNI"][0] for m in expressed]
        sigma = [ratings[m]["UNI"][1] for m in expressed]
        runs.append(dict(zip(expressed, win_rate(mu, sigma, settings.beta), strict=True)))
    assert runs[0] == pytest.approx({m: singles[0][m]["UNI"] for m in expressed})
    for m in expressed:
        values = [r[m] for r in runs]
        assert stats.mean[m]["UNI"] == pytest.approx(np.mean(values))
        assert stats.sd[m]["UNI"] == pytest.approx(np.std(values, ddof=1))
        assert stats.sd[m]["UNI"] > 0  # the order alone moves a cell
    assert stats.shuffles == 4
    assert TrueSkillSettings().shuffles == 10  # the default averages ten orders
    one = trueskill_profile_stats(expressed, ["UNI"], TrueSkillSettings(shuffles=1))
    assert one.sd == {m: {"UNI": 0.0} for m in expressed}


def test_averaging_shuffles_makes_the_profile_stable_across_order_seeds():
    expressed = _random_expressed(1, questions=16)
    single = [trueskill_profiles(expressed, ["UNI"], TrueSkillSettings(seed=s, shuffles=1))
              for s in range(8)]
    averaged = [trueskill_profiles(expressed, ["UNI"], TrueSkillSettings(seed=s, shuffles=10))
                for s in range(8)]
    spread_single = max(np.std([p[m]["UNI"] for p in single]) for m in expressed)
    spread_avg = max(np.std([p[m]["UNI"] for p in averaged]) for m in expressed)
    assert spread_avg < 0.5 * spread_single


def test_partial_play_weights_a_winner_by_its_share_of_points():
    from valuegraph.values.profiles import point_shares

    shares = point_shares({"a": {"q1": [F({"SEC"}), F(), F()]}, "b": {"q1": [F(), F()]}})
    assert shares == {"a": {"q1": {"SEC": pytest.approx(1 / 3)}}, "b": {"q1": {}}}
    expressed = {"a": {"q1": F({"SEC"})}, "b": {"q1": F()}}
    settings = TrueSkillSettings(shuffles=1, partial_play="points")
    ratings = trueskill_ratings(expressed, ["SEC"], settings, shares=shares)
    env = trueskill.TrueSkill(draw_probability=0.0)
    (win,), (lose,) = env.rate([(env.create_rating(),), (env.create_rating(),)], ranks=[0, 1],
                               weights=[(1 / 3,), (1.0,)])
    assert ratings["a"]["SEC"] == pytest.approx((win.mu, win.sigma))
    assert ratings["b"]["SEC"] == pytest.approx((lose.mu, lose.sigma))
    full = trueskill_ratings(expressed, ["SEC"], TrueSkillSettings(shuffles=1))
    # TrueSkill's partial play: the winner's performance counts a third towards its team's,
    # so the same win moves its rating differently from a full-play win
    assert ratings["a"]["SEC"][0] > 25.0
    assert abs(ratings["a"]["SEC"][0] - full["a"]["SEC"][0]) > 0.5
    with pytest.raises(ValueError, match="shares"):
        trueskill_ratings(expressed, ["SEC"], settings)
    with pytest.raises(ValueError, match="partial_play"):
        TrueSkillSettings(partial_play="half")
    with pytest.raises(ValueError, match="shuffles"):
        TrueSkillSettings(shuffles=0)
