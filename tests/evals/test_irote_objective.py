"""IROTE's objective against hand computations on fixed log-likelihoods and ratings."""

from __future__ import annotations

import math

import pytest

from valuegraph.values import irote_objective as obj

LN = math.log


def test_probability_from_loglik_is_a_per_word_geometric_mean_clamped():
    # 3 words with a summed log-likelihood of 3 ln 0.5: 0.5 per word
    assert obj.probability_from_loglik(-2.0794415, 3) == pytest.approx(0.5)
    assert obj.probability_from_loglik(2 * LN(0.2), 2) == pytest.approx(0.2)
    # exp(-30 / 2) = 3.1e-7: clamped to the floor that keeps log p finite
    assert obj.probability_from_loglik(-30.0, 2) == obj.PROBABILITY_FLOOR == 1e-3
    assert obj.word_count("  ") == 1 and obj.word_count("1. I plan, e.g.: lists") == 5


def test_probability_from_six_ratings():
    replies = ["7", "8/10", "about 6", "no idea", "10", "9 out of 10"]
    ratings = [obj.parse_judge_rating(r) for r in replies]
    assert ratings == [7, 8, 6, None, 10, 9]
    # (0.7 + 0.8 + 0.6 + 1.0 + 0.9) / 5: the unparsed reply is left out, not a 0
    assert obj.probability_from_ratings(ratings) == pytest.approx(0.8)
    assert obj.probability_from_ratings([0.0] * 6) == 1e-3
    assert obj.probability_from_ratings([None, None]) is None
    assert obj.parse_judge_rating("11") is None and obj.parse_judge_rating("-1") is None


def test_compactness_term1_minus_term2_by_hand():
    # p(e_i | e_k) from fixed log-likelihoods: ln 0.5 per word (3 words), ln 0.2 (2 words), ...
    p_new_given_pool = [[obj.probability_from_loglik(3 * LN(0.5), 3),
                         obj.probability_from_loglik(2 * LN(0.2), 2)],
                        [0.4, 0.1]]
    p_pool_given_new = [[0.25, 0.5], [0.8, 1e-4]]  # 1e-4 is clamped to 1e-3
    p_new_given_corpus = [0.6, 0.3]
    p_corpus_given_new = [0.2, 0.05]
    first, second = obj.compactness_scores(p_new_given_pool, p_pool_given_new,
                                           p_new_given_corpus, p_corpus_given_new)
    # term1 = sum_k p(e|e_k) ln p(e_k|e)
    #   e1: 0.5 ln 0.25 + 0.2 ln 0.5 = -0.693147 - 0.138629 = -0.831777
    #   e2: 0.4 ln 0.8 + 0.1 ln 0.001 = -0.089257 - 0.690776 = -0.780033
    assert first.term1 == pytest.approx(-0.831777, abs=1e-6)
    assert second.term1 == pytest.approx(-0.780033, abs=1e-6)
    # term2 = p(e|E) [ln p(E|e) - mean over the other candidates of ln p(E|e')]
    #   e1: 0.6 (ln 0.2 - ln 0.05) = 0.6 ln 4 = 0.831777
    #   e2: 0.3 (ln 0.05 - ln 0.2) = -0.415888
    assert first.term2 == pytest.approx(0.831777, abs=1e-6)
    assert second.term2 == pytest.approx(-0.415888, abs=1e-6)
    assert first.score == pytest.approx(-1.663553, abs=1e-6)
    assert second.score == pytest.approx(-0.364145, abs=1e-6)
    assert obj.top_k([first.score, second.score], 1) == [1]


def test_compactness_edge_cases():
    # one candidate: nothing to contrast with, term2 = 0 (the code divides by n - 1)
    (only,) = obj.compactness_scores([[0.5]], [[0.5]], [0.9], [0.1])
    assert only.term2 == 0.0 and only.score == pytest.approx(0.5 * LN(0.5))
    # an unscored pair is left out of term1 and counted; an unscored p(E|e) leaves no score
    a, b = obj.compactness_scores([[None, 0.5], [0.5, 0.5]], [[0.5, 0.5], [0.5, 0.5]],
                                  [0.5, 0.5], [None, 0.5])
    assert a.unscored_pairs == 1 and a.term1 == pytest.approx(0.5 * LN(0.5))
    assert a.score is None and b.term2 == 0.0  # b's only rival is unscored
    assert obj.top_k([None, -2.0, -1.0, -1.0], 3) == [2, 3, 1]
    with pytest.raises(ValueError, match="one entry per new candidate"):
        obj.compactness_scores([[0.5]], [], [0.5], [0.5])


def test_item_scores_from_option_logliks_by_hand():
    # item A (5 points): options 1..5 with p = .1 .1 .2 .4 .2, given as unnormalised logliks
    logliks = [LN(p) - 3.0 for p in (0.1, 0.1, 0.2, 0.4, 0.2)]
    dist = obj.rating_distribution(logliks)
    assert dist == pytest.approx([0.1, 0.1, 0.2, 0.4, 0.2])
    # E[r] = .1 + .2 + .6 + 1.6 + 1.0 = 3.5 -> 3.5 / 5 x 10 = 7.0
    assert obj.expected_score(dist) == pytest.approx(7.0)
    # bound: sum p_r ln(r / 5) = .1 ln .2 + .1 ln .4 + .2 ln .6 + .4 ln .8 = -0.443995
    assert obj.evocativeness_bound(dist) == pytest.approx(-0.443995, abs=1e-6)
    # item B, reversed: p = .6 .2 .1 .05 .05, E[r] = 1.75, E[6 - r] = 4.25 -> 8.5
    reversed_dist = obj.rating_distribution([LN(p) for p in (0.6, 0.2, 0.1, 0.05, 0.05)])
    assert obj.expected_score(reversed_dist, reverse=True) == pytest.approx(8.5)


def test_generated_answers_and_the_codes_rescaling():
    assert obj.parse_rating("I would say 4 out of 5", 5) == 4
    assert obj.parse_rating("7", 5) is None and obj.parse_rating("none", 5) is None
    # the code: scale = points + 1, reversed r -> scale - r, rescaled r / (scale - 1) x 10
    assert obj.rescale_rating(2, 5, reverse=True) == pytest.approx((6 - 2) / (6 - 1) * 10)
    assert obj.rescale_rating(5, 5) == 10.0 and obj.rescale_rating(1, 5) == 2.0


def test_reward_mean_per_questionnaire_min_over_handlers_mean_over_orders():
    orders = [
        {"0": {"q1": [7.0, 8.5], "q2": [6.0]},    # (7.75 + 6.0) / 2 = 6.875
         "10": {"q1": [5.0, None], "q2": [9.0]}},  # (5.0 + 9.0) / 2 = 7.0   -> min 6.875
        {"0": {"q1": [8.0, 8.0], "q2": [4.0]},    # (8.0 + 4.0) / 2 = 6.0
         "10": {"q1": [None, None], "q2": [7.0]}},  # q1 unscored: 7.0       -> min 6.0
    ]
    assert obj.handler_score(orders[0]["0"]) == pytest.approx(6.875)
    assert obj.order_score(orders[1]) == pytest.approx(6.0)
    assert obj.set_reward(orders) == pytest.approx((6.875 + 6.0) / 2)
    assert obj.set_reward([{"0": {"q": [None]}}]) is None
