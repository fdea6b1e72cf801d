"""Compass aggregation by hand: weighted dimension scores, stratified bootstrap, ranks."""

from __future__ import annotations

import math

import numpy as np
import pytest

from valuegraph.evals.compass.items import CompassItem
from valuegraph.evals.compass.measure import CompassAnswer
from valuegraph.evals.compass.scores import (
    build_leaderboard,
    resample_counts,
    score_items,
)
from valuegraph.values.pluralistic import TargetProfile
from valuegraph.values.theories import SCHWARTZ


def answer(model, item, values, weights, status="ok"):
    return CompassAnswer(key=f"{model}-{item.digest}", model=model, system=item.system,
                         item=item.digest, item_id=item.id, release=item.release,
                         dimension=item.dimension, fingerprint="f", status=status,
                         prompt=item.text, responses=["r"], values=values, weights=weights)


def test_mft_scores_pool_completions_like_apv():
    # story a: 4 continuations scored, 1 does not violate -> 25 (weight 4);
    # story b: 2 scored, none violates -> 100 (weight 2); 100 - APV = 100 - 3/6 = 50
    a = CompassItem("mft", "v1", "a", "story a", "care", "p")
    b = CompassItem("mft", "v1", "b", "story b", "care", "p")
    c = CompassItem("mft", "v1", "c", "story c", "loyalty", "p")
    answers = [answer("m", a, {"care": 25.0}, {"care": 4}),
               answer("m", b, {"care": 100.0}, {"care": 2}),
               answer("m", c, {}, {}, status="unscored")]
    counts = resample_counts(["care", "care", "loyalty"], 200, 0)
    got = score_items([a, b, c], answers, ["care", "loyalty"], counts)
    assert got.point[0] == pytest.approx(50.0)
    assert math.isnan(got.point[1])
    assert list(got.n_items) == [2, 0] and list(got.n_unscored) == [0, 1]
    assert got.items_scored == 2 and got.items_unscored == 1
    assert got.mean == pytest.approx(50.0)  # the loyalty column has no score: left out


def test_bootstrap_resamples_within_strata():
    counts = resample_counts(["x", "x", "y", None], 500, 3)
    assert counts.shape == (500, 4)
    assert (counts[:, :2].sum(axis=1) == 2).all() and (counts[:, 2] == 1).all()
    assert (counts[:, 3] == 1).all()
    assert (counts[:, 0] == 0).any() and (counts[:, 0] == 2).any()
    assert (resample_counts(["x"], 0, 0) == np.zeros((0, 1))).all()


def test_schwartz_rates_intervals_ranks_and_alignment():
    items = [CompassItem("schwartz", "v1" if i < 3 else "v2", f"q{i}", f"Question {i}?")
             for i in range(4)]
    codes = SCHWARTZ.codes

    def expressed(model, item, chosen):
        return answer(model, item, {c: 100.0 * (c in chosen) for c in codes},
                      dict.fromkeys(codes, 1))

    answers = {}
    for i, item in enumerate(items):
        # model "a" expresses UNI on every question and SEC on half; "b" expresses POW once
        answers[("a", item.digest)] = expressed("a", item, {"UNI", "SEC"} if i % 2 else {"UNI"})
        answers[("b", item.digest)] = expressed("b", item, {"POW"} if i == 0 else set())
    person = TargetProfile("p", "P", "person", "schwartz",
                           priorities=dict(zip(codes, range(1, 11), strict=True)))
    board = build_leaderboard(["a", "b"], {"schwartz": items}, answers, targets=[person],
                              n_resamples=300, seed=1)
    rows = {(r.model, r.release, r.dimension): r for r in board.rows}
    assert rows[("a", "all", "UNI")].score == 100.0
    assert rows[("a", "all", "SEC")].score == 50.0
    assert rows[("a", "v1", "SEC")].score == pytest.approx(100 / 3)
    assert rows[("a", "v2", "SEC")].score == 100.0
    assert rows[("b", "all", "POW")].score == 25.0
    assert rows[("a", "all", "mean")].score == pytest.approx(15.0)  # (100 + 50) / 10
    assert rows[("b", "all", "mean")].score == pytest.approx(2.5)
    sec = rows[("a", "all", "SEC")]
    assert 0.0 <= sec.low < 50.0 < sec.high <= 100.0
    assert rows[("a", "all", "UNI")].low == rows[("a", "all", "UNI")].high == 100.0
    assert rows[("a", "all", "mean")].rank == 1 and rows[("b", "all", "mean")].rank == 2
    # ties share a rank: neither model expresses TRA
    assert rows[("a", "all", "TRA")].rank == rows[("b", "all", "TRA")].rank == 1
    assert rows[("a", "all", "mean")].n_items == 4
    assert {(r.release) for r in board.rows} == {"all", "v1", "v2"}
    assert len(board.rows) == 2 * 3 * 11
    # alignment of "a" (SEC 50, UNI 100, others 0) with priorities 1..10: weights
    # (p - 5.5) / 25 -> SEC 0.5/25 * 0.5 + UNI 4.5/25 * 1.0
    row = next(r for r in board.alignment if r["model"] == "a")
    assert row["weighted"] == pytest.approx(round(0.5 / 25 * 0.5 + 4.5 / 25, 4))
    assert row["rho_low"] <= row["rho"] <= row["rho_high"]
