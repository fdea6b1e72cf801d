"""AdAEM's score S: every component against hand-computed values."""

from __future__ import annotations

import math

import numpy as np
import pytest

from valuegraph.values.informativeness import (
    ScoreParts,
    ScoreSettings,
    disentanglement,
    embedding_similarity,
    exact_informativeness,
    informativeness,
    jaccard_distance,
    model_values,
    opinion_diversity,
    parse_joint_labels,
    parse_opinion,
    value_conformity,
    value_diversity,
)

F = frozenset


# -- opinions --------------------------------------------------------------------------------

def test_parse_opinion_numbered_with_markdown_and_prose():
    text = """Sure, here is my view.

**Stance:** Yes

1. **Fairness**: everyone should pay the same.
2) *Safety*: it protects children.
3. Tradition: it respects custom.
4. Extra: dropped beyond three points.

Overall I agree."""
    opinion = parse_opinion(text, max_points=3)
    assert opinion.stance == "yes"
    assert opinion.points == ("Fairness: everyone should pay the same.",
                              "*Safety*: it protects children.",
                              "Tradition: it respects custom.")
    assert opinion.parsed


@pytest.mark.parametrize("text,stance,points", [
    ("Stance - neutral\n- Point one: a\n- Point two: b", "neutral", ["Point one: a",
                                                                   "Point two: b"]),
    ("No.\n• Cost: too expensive\n• Freedom: people choose", "no", ["Cost: too expensive",
                                                                  "Freedom: people choose"]),
    ("Answer: NO\nPoint 1: Liberty: choose freely\nPoint 2: Order: keep rules", "no",
     ["Liberty: choose freely", "Order: keep rules"]),
    ("Position: yes\nLiberty: people decide.\nHarm: nobody is hurt.", "yes",
     ["Liberty: people decide.", "Harm: nobody is hurt."]),
    ("I have no opinion on that. Sorry!", None, ["I have no opinion on that."]),
    ("Neutral\nIt depends on the country. Both sides have a point.", "neutral",
     ["It depends on the country.", "Both sides have a point."]),
    ("", None, []),
])
def test_parse_opinion_variants(text, stance, points):
    opinion = parse_opinion(text)
    assert opinion.stance == stance
    assert list(opinion.points) == points
    assert opinion.parsed == bool(points)


def test_parse_joint_labels_by_code_or_name_and_missing_is_unscored():
    text = "SDI: Yes\n**Stimulation**: no\nPOW - YES\nsomething else"
    labels = parse_joint_labels(text, ["SDI", "STI", "POW", "UNI"],
                                ["Self-direction", "Stimulation", "Power", "Universalism"])
    assert labels == {"SDI": True, "STI": False, "POW": True, "UNI": None}


# -- the four terms ----------------------------------------------------------------------------

def test_value_conformity_intersection_over_union_is_the_default():
    # ∩ = {B} (1), ∪ = {A, B, C} (3)
    assert value_conformity([F("AB"), F("BC"), F("B")]) == pytest.approx(1 / 3)
    # a consistent model conforms fully, a scattered one not at all
    assert value_conformity([F("AB"), F("AB"), F("AB")]) == 1.0
    assert value_conformity([F("A"), F("B"), F("C")]) == 0.0
    # nothing expressed: ∪ empty, max(1, 0) = 1 in the denominator
    assert value_conformity([F(), F()]) == 0.0
    assert value_conformity([]) == 0.0


def test_value_conformity_union_over_intersection_rewards_scatter():
    form = "union_over_intersection"
    # ∪ = {A, B, C} (3), ∩ = {B} (1)
    assert value_conformity([F("AB"), F("BC"), F("B")], form) == 3.0
    # the example: three points, three values -> 3; a consistent model -> 1
    assert value_conformity([F("A"), F("B"), F("C")], form) == 3.0
    assert value_conformity([F("A"), F("A"), F("A")], form) == 1.0
    assert value_conformity([F("A"), F("B")], form) == 2.0  # ∩ empty: max(1, 0) = 1
    assert value_conformity([F()], form) == 0.0
    with pytest.raises(ValueError, match="vc_form"):
        value_conformity([F("A")], "ratio")


def test_jaccard_distance_with_max_one_denominator():
    assert jaccard_distance(F("AB"), F("BC")) == pytest.approx(1 - 1 / 3)
    assert jaccard_distance(F("A"), F()) == 1.0
    assert jaccard_distance(F(), F()) == 0.0  # identical, not maximally diverse
    assert jaccard_distance(F("AB"), F("AB")) == 0.0


def test_value_diversity_mean_and_printed_sum():
    sets = [F("AB"), F("BC"), F("AB")]
    # pairs: (1,2) = 2/3, (1,3) = 0, (2,3) = 2/3
    assert value_diversity(sets, "mean") == pytest.approx(4 / 9)
    assert value_diversity(sets, "sum") == pytest.approx(2 * 4 / 3)  # Σ over ordered pairs
    assert value_diversity([F("A")]) == 0.0


def _table_similarity(table):
    def similarity(a, b):
        return np.array([[table[(x, y)] for y in b] for x in a], dtype=float)
    return similarity


def test_opinion_diversity_averages_model_pairs():
    sim = _table_similarity({("a", "a"): 1.0, ("b", "a"): 0.0, ("a", "c"): 0.2, ("b", "c"): 0.4,
                             ("a", "b"): 0.0})
    # pair (m1, m2): mean(sim(a,a), sim(b,a)) = 0.5
    assert opinion_diversity([["a", "b"], ["a"]], sim) == pytest.approx(0.5)
    # pairs: (m1,m2) 0.5, (m1,m3) mean(0.2, 0.4) = 0.3, (m2,m3) 0.2 -> mean 1/3; 1 - 1/3
    assert opinion_diversity([["a", "b"], ["a"], ["c"]], sim) == pytest.approx(1 - 1 / 3)
    # a model without opinions is left out; one model left: 0
    assert opinion_diversity([["a"], []], sim) == 0.0


def test_disentanglement_is_mean_l1_to_question_labels():
    # |{A,B} ^ {A}| = 1, |{C} ^ {A}| = 2
    assert disentanglement([F("AB"), F("C")], F("A")) == pytest.approx(1.5)
    assert disentanglement([], F("A")) == 0.0


def test_model_values_is_or_over_points():
    assert model_values([F("A"), F("BC"), F()]) == F("ABC")


# -- S -------------------------------------------------------------------------------------------

def test_informativeness_hand_computed_both_signs():
    labels = [[F("AB"), F("B")], [F("C")]]
    texts = [["a", "b"], ["c"]]
    sim = _table_similarity({("a", "c"): 0.6, ("b", "c"): 0.2})
    question = F("A")
    # VC (∩/∪): m1 |{B}|/|{A,B}| = 0.5, m2 1/1 = 1 -> 0.75
    # VD: D({A,B}, {C}) = 1 - 0/3 = 1
    # OD: 1 - mean(0.6, 0.2) = 0.6
    # Dis: mean(|{B}|, |{A,C}|) = 1.5
    parts = informativeness(labels, question, texts, sim)
    assert (parts.VC, parts.VD, parts.OD, parts.Dis) == pytest.approx((0.75, 1.0, 0.6, 1.5))
    assert parts.S == pytest.approx(0.75 + 1.0 + 0.6 - 0.75)
    assert parts.models == 2
    assert parts.extra == {"vc_form": "intersection_over_union"}
    plus = informativeness(labels, question, texts, sim, ScoreSettings(dis_sign=1))
    assert plus.S == pytest.approx(0.75 + 1.0 + 0.6 + 0.75)
    # the other reading: m1 |{A,B}|/|{B}| = 2, m2 1 -> 1.5
    old = informativeness(labels, question, texts, sim,
                          ScoreSettings(vc_form="union_over_intersection"))
    assert old.VC == pytest.approx(1.5) and old.S == pytest.approx(1.5 + 1.0 + 0.6 - 0.75)
    assert old.to_json()["extra"] == {"vc_form": "union_over_intersection"}


def test_informativeness_skips_unparsed_models_and_is_unscored_without_any():
    sim = _table_similarity({})
    parts = informativeness([[F("A")], []], F(), [["x"], []], sim, unscored_labels=4)
    assert parts.models == 1 and parts.VD == 0.0 and parts.OD == 0.0
    assert parts.S == pytest.approx(1.0 - 0.5 * 1)
    none = informativeness([[], []], F(), [[], []], sim, unscored_labels=20)
    assert none.S is None and none.unscored_labels == 20
    assert ScoreParts(None).to_json()["S"] is None


def test_score_settings_validate():
    with pytest.raises(ValueError, match="dis_sign"):
        ScoreSettings(dis_sign=0)
    with pytest.raises(ValueError, match="vd_reduction"):
        ScoreSettings(vd_reduction="max")
    with pytest.raises(ValueError, match="vc_form"):
        ScoreSettings(vc_form="ratio")


def test_exact_variant_hand_computed():
    probs = np.array([[0.8, 0.3], [0.4, 0.6]])  # P(yes | y_i, value d)
    loglik = np.array([[-10.0, -14.0], [-12.0, -9.0]])  # loglik[j, i] = log p_j(y_i | x)
    question = np.array([0.5, 0.5])
    # v1 = [1, 0], v2 = [0, 1]
    vc = (math.log(0.8 * 0.7) + math.log(0.6 * 0.6)) / 2
    vd = (-math.log(0.4 * 0.4) - math.log(0.2 * 0.3)) / 2
    od = ((-10 - -12) + (-9 - -14)) / 2
    dis = ((0.3 + 0.2) + (0.1 + 0.1)) / 2
    parts = exact_informativeness(probs, loglik, question)
    assert (parts.VC, parts.VD, parts.OD, parts.Dis) == pytest.approx((vc, vd, od, dis))
    assert parts.S == pytest.approx(vc + vd + od - 0.5 * dis)
    assert parts.extra == {"method": "exact"}
    one = exact_informativeness(probs[:1], loglik[:1, :1], question)
    assert one.VD == 0.0 and one.OD == 0.0
    with pytest.raises(ValueError, match="loglik must be"):
        exact_informativeness(probs, loglik[:1], question)


def test_embedding_similarity_embeds_each_text_once():
    calls = []

    def embed(texts):
        calls.append(list(texts))
        return np.array([[1.0, 0.0] if t.startswith("x") else [0.6, 0.8] for t in texts])

    sim = embedding_similarity(embed)
    assert sim(["x1", "y"], ["x2"]) == pytest.approx(np.array([[1.0], [0.6]]))
    assert sim(["x1"], ["y"]) == pytest.approx(np.array([[0.6]]))
    assert calls == [["x1", "y", "x2"]]
