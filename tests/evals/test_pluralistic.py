"""Pluralistic alignment (spec §2.4) against hand computations and the platform's own numbers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from valuegraph.values.pluralistic import (
    ProfileError,
    TargetProfile,
    align,
    average_ranks,
    centred_weights,
    culture_profiles,
    load_person_profile,
    scaled_weights,
    spearman_match,
    spearman_rho,
    spearman_rows,
    weighted_alignment,
)
from valuegraph.values.theories import SCHWARTZ

CODES = SCHWARTZ.codes  # SDI STI HED ACH POW SEC CON TRA BEN UNI


def test_centred_weights_by_hand():
    # p = (1, 2, 3, 6): mean 3, centred (-2, -1, 0, 3), sum of |.| = 6
    assert centred_weights([1, 2, 3, 6]) == pytest.approx([-1 / 3, -1 / 6, 0.0, 0.5])
    assert scaled_weights([2, -1, 1]) == pytest.approx([0.5, -0.25, 0.25])
    with pytest.raises(ValueError, match="all priorities are equal"):
        centred_weights([4, 4, 4])


def test_weighted_alignment_by_hand_and_its_range():
    w = centred_weights([1, 2, 3, 6])
    # -1/3 * 0.2 - 1/6 * 0.4 + 0 * 0.9 + 1/2 * 0.8 = -0.0667 - 0.0667 + 0.4
    assert weighted_alignment([0.2, 0.4, 0.9, 0.8], w) == pytest.approx(0.4 - 2 / 15)
    assert weighted_alignment([0, 0, 1, 1], w) == pytest.approx(0.5)  # the ceiling
    assert weighted_alignment([1, 1, 0, 0], w) == pytest.approx(-0.5)  # the floor


def test_spearman_by_hand_without_and_with_ties():
    ranks = list(range(1, 11))
    swapped = [2, 1, *range(3, 11)]  # one adjacent swap: sum d^2 = 2, rho = 1 - 2/165
    assert spearman_rho(ranks, swapped) == pytest.approx(1 - 2 / 165)
    assert spearman_rho(ranks, ranks[::-1]) == pytest.approx(-1.0)
    # ties share their mean rank: b -> (1, 2, 3.5, 5, 3.5); cov 8, var 10 and 9.5
    assert spearman_rho([1, 2, 3, 4, 5], [5, 6, 7, 8, 7]) == pytest.approx(8 / math.sqrt(95))
    assert math.isnan(spearman_rho([1, 1, 1], [1, 2, 3]))
    assert spearman_match(-1.0) == 0.0 and spearman_match(0.5) == 0.75


def test_average_ranks_match_scipy():
    from scipy.stats import rankdata

    rows = np.random.default_rng(1).integers(0, 4, size=(40, 10)).astype(float)
    assert average_ranks(rows) == pytest.approx(rankdata(rows, axis=1))
    assert average_ranks(np.array([5.0, 6, 7, 8, 7])) == pytest.approx([1, 2, 3.5, 5, 3.5])


def test_spearman_rows_match_one_at_a_time():
    rng = np.random.default_rng(0)
    matrix = rng.integers(0, 5, size=(20, 6)).astype(float)
    target = [3, 1, 4, 1, 5, 9]
    got = spearman_rows(matrix, target)
    for row, value in zip(matrix, got, strict=True):
        expected = spearman_rho(row, target)
        assert (math.isnan(value) and math.isnan(expected)) or value == pytest.approx(expected)


# Published on the Value Compass platform (ValueCompass/ValueCompass.github.io): two models'
# Schwartz scores (data/Schwartz_scores.json) and their culture-heatmap rho per country
# (data/value_sim_heatmap.json, commit e1b6924). GLM-4 has a tie (ACH = TRA = 47.5).
PLATFORM = {
    "GPT-4-Turbo": ([52.2, 37.4, 29.3, 50.2, 28.7, 63.5, 46.3, 43.6, 57.7, 71.8],
                    {"FR": 0.5757575757575757, "UK": 0.5636363636363636,
                     "US": 0.32121212121212117, "CN": 0.7696969696969697,
                     "SG": 0.7212121212121211, "ID": 0.5393939393939393,
                     "JP": 0.6322217654272672, "RU": 0.6121212121212121}),
    "GLM-4": ([49.2, 29.5, 26.4, 47.5, 26.6, 67.1, 50.5, 47.5, 56.8, 68.9],
              {"FR": 0.44377104688644714, "UK": 0.4559291577600484,
               "US": 0.1580554413568168, "CN": 0.6686960980480711,
               "SG": 0.6990913752320743, "ID": 0.5106406566912542,
               "JP": 0.7652439024390244, "RU": 0.5896683773696626}),
}


@pytest.mark.parametrize("model", sorted(PLATFORM))
def test_shipped_cultures_reproduce_the_platform_heatmap(model):
    scores, published = PLATFORM[model]
    cultures = culture_profiles()
    for country, rho in published.items():
        got = align(dict(zip(CODES, scores, strict=True)), cultures[country])
        assert got.rho == pytest.approx(rho, abs=1e-12), country
        assert got.match == pytest.approx((rho + 1) / 2, abs=1e-12)


def test_shipped_profiles_name_their_sources():
    cultures = culture_profiles()
    assert set(cultures) == {"FR", "UK", "US", "CN", "SG", "ID", "JP", "RU", "PAN"}
    assert all(p.kind == "culture" and p.system == "schwartz" and len(p.source) > 80
               for p in cultures.values())
    assert "value_sim_heatmap.json" in cultures["FR"].source
    assert "Bardi" in cultures["PAN"].source
    pan = cultures["PAN"].priorities
    assert {c for c, v in pan.items() if v == 3} == {"BEN", "UNI", "SDI"}
    assert {c for c, v in pan.items() if v == 1} == {"POW", "TRA", "STI"}


def test_align_weighted_by_hand_on_a_person():
    person = TargetProfile("ada", "Ada", "person", "schwartz",
                           priorities=dict(zip(CODES, [6, 4, 4, 4, 4, 4, 4, 4, 4, 2],
                                               strict=True)))
    # mean 4: w = (2, 0, ..., 0, -2) / 4 = (0.5, 0, ..., -0.5)
    scores = dict(zip(CODES, [80, 10, 10, 10, 10, 10, 10, 10, 10, 30], strict=True))
    got = align(scores, person)
    assert got.weighted == pytest.approx(0.5 * 0.8 - 0.5 * 0.3)
    custom = TargetProfile("w", "W", "person", "schwartz", weights={"UNI": 2.0, "POW": -2.0})
    assert align(scores, custom).weighted == pytest.approx(0.5 * 0.3 - 0.5 * 0.1)
    assert math.isnan(align(scores, custom).rho)  # weights on two values: no ranking


def test_person_profile_file(tmp_path):
    path = tmp_path / "ada.yaml"
    path.write_text("name: Ada\npriorities: {Self-direction: 6, STI: 3, HED: 4, ACH: 4.5, "
                    "POW: 2, SEC: 5, CON: 3.5, TRA: 2.5, BEN: 5.5, UNI: 6}\n")
    profile = load_person_profile(path)
    assert profile.key == "ada" and profile.name == "Ada" and profile.kind == "person"
    assert profile.priorities["SDI"] == 6.0 and len(profile.priorities) == 10
    mft = tmp_path / "m.json"
    mft.write_text('{"system": "mft", "weights": {"care": 2, "Fairness/Cheating": 1}}')
    assert load_person_profile(mft).weight_vector(("care", "fairness", "loyalty", "authority",
                                                   "sanctity")) == pytest.approx(
        [2 / 3, 1 / 3, 0, 0, 0])


@pytest.mark.parametrize(("text", "message"), [
    ("priorities: {SDI: 1}", "missing: STI"),
    ("priorities: {XYZ: 1}", "'XYZ' is not a value"),
    ("weights: {UNI: high}", "must be a finite number"),
    ("weights: {UNI: 0}", "every weight is 0"),
    ("name: x", "give priorities"),
    ("system: big_five\nweights: {O: 1}", "system must be"),
    ("colour: blue\nweights: {UNI: 1}", "unknown field"),
    ("priorities: [1, 2]", "must be a mapping"),
    ("- a\n- b", "must be a mapping"),
    ("priorities: {SDI: 1, STI: 1, HED: 1, ACH: 1, POW: 1, SEC: 1, CON: 1, TRA: 1, BEN: 1, "
     "UNI: 1}", "all priorities are equal"),
    ("weights: {UNI: 1", "not valid YAML"),
])
def test_bad_person_profiles_say_what_is_wrong_in_one_line(tmp_path, text, message):
    path = tmp_path / "p.yaml"
    path.write_text(text)
    with pytest.raises(ProfileError) as info:
        load_person_profile(path)
    assert message in str(info.value) and "\n" not in str(info.value)
    assert str(path) in str(info.value)
