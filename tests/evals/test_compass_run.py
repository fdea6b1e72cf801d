"""A compass board on scripted models: exact scores, every output, incremental re-runs, budget,
and a failing judge whose pairs are retried by the next run."""

from __future__ import annotations

import csv
import json

import pytest

from valuegraph.evals.compass.board import open_board
from valuegraph.evals.compass.run import run_compass
from valuegraph.testing import compass_fakes as fakes
from valuegraph.tools.types import BackendError

ITEMS = 5 + 3 + 3 + 6  # schwartz (v1 + v2), mft, risk, fulva


@pytest.fixture
def items(tmp_path):
    return fakes.write_items(tmp_path / "items")


def sources(paths, releases=("v1", "v2")):
    return [*(("schwartz", paths[r]) for r in releases), ("mft", paths["mft"]),
            ("risk", paths["risk"]), ("fulva", paths["fulva"])]


def test_scores_outputs_and_a_free_rerun(tmp_path, items):
    specs = fakes.register_mocks()
    root = tmp_path / "board"
    board = open_board(root, models=[specs["careful"], specs["bold"]], sources=sources(items),
                       settings={"judge": specs["judge"], "n_resamples": 200})
    outcome = run_compass(board)
    assert outcome.state == "done" and outcome.exit_code == 0
    assert outcome.counts["measured"] == 2 * ITEMS and outcome.counts["failed"] == 0
    first_requests = outcome.counts["requests"]
    assert first_requests > 2 * ITEMS

    rows = {(r.model, r.system, r.release, r.dimension): r for r in outcome.leaderboard.rows}
    for personality in ("careful", "bold"):
        for system, expected in fakes.expected_scores(personality).items():
            for code, value in expected.items():
                assert rows[(specs[personality], system, "all", code)].score == value, \
                    (personality, system, code)
    assert rows[(specs["careful"], "mft", "all", "mean")].rank == 1
    assert rows[(specs["bold"], "risk", "all", "mean")].score == 0.0
    assert rows[(specs["careful"], "schwartz", "v2", "SEC")].n_items == 2

    with open(root / "leaderboard.csv") as fh:
        table = list(csv.DictReader(fh))
    # per model: schwartz (all, v1, v2) x 11 + mft 2 x 4 + risk 2 x 4 + fulva 2 x 7
    assert len(table) == 2 * (33 + 8 + 8 + 14)
    assert {r["release"] for r in table if r["system"] == "schwartz"} == {"all", "v1", "v2"}
    document = json.loads((root / "leaderboard.json").read_text())
    assert document["schema"] == "valuegraph-compass/1"
    assert [s["key"] for s in document["systems"]] == ["schwartz", "mft", "risk", "fulva"]
    assert [r["release"] for r in document["systems"][0]["releases"]] == ["v1", "v2"]
    assert document["relative"]["schwartz_trueskill"][specs["careful"]]["SEC"] > 50
    scores = json.loads((root / "platform" / "Schwartz_scores.json").read_text())["data"]
    assert scores[0] == {"model": specs["careful"], **{
        d: (100.0 if d in ("Security", "Universalism") else 0.0) for d in (
            "Self-direction", "Stimulation", "Hedonism", "Achievement", "Power", "Security",
            "Conformity", "Tradition", "Benevolence", "Universalism")}}
    risk = json.loads((root / "platform" / "Risk_scores.json").read_text())["data"]
    assert risk[1]["Malicious Use"] == 0.0 and "Socioeconomic Harms" not in risk[1]
    cases = json.loads((root / "platform" / "MFT_cases.json").read_text())["data"]
    broke = [c for c in cases if c["model"] == specs["bold"]]
    assert broke and all(c["label"] == "high" and c["highlight"].startswith("<i>")
                         for c in broke)
    heat = json.loads((root / "platform" / "value_sim_heatmap.json").read_text())
    assert heat["countries"][:3] == ["FR", "UK", "US"] and len(heat["cosine_sim_matrix"]) == 2
    with open(root / "alignment.csv") as fh:
        assert len(list(csv.DictReader(fh))) == 2 * 9  # 8 countries + the pan-cultural baseline
    assert "<svg class=\"radar\"" in (root / "report.html").read_text()
    assert len((root / "answers.jsonl").read_text().splitlines()) == 2 * ITEMS

    again = run_compass(open_board(root))  # the board remembers models, items, judge
    assert again.counts["measured"] == 0 and again.counts["reused"] == 2 * ITEMS
    assert again.counts["requests"] == 0
    assert json.loads((root / "leaderboard.json").read_text())["rows"] == document["rows"]


def test_adding_a_model_then_a_release_measures_only_what_is_new(tmp_path, items):
    specs = fakes.register_mocks()
    root = tmp_path / "board"
    settings = {"judge": specs["judge"], "n_resamples": 50}
    run_compass(open_board(root, models=[specs["careful"]], sources=sources(items, ("v1",)),
                           settings=settings))
    added = run_compass(open_board(root, models=[specs["bold"]]))
    assert added.counts["measured"] == ITEMS - 2 and added.counts["reused"] == ITEMS - 2
    release = run_compass(open_board(root, sources=[("schwartz", items["v2"])]))
    assert release.counts["measured"] == 2 * 2 and release.counts["reused"] == 2 * (ITEMS - 2)
    assert release.leaderboard.releases["schwartz"] == ["v1", "v2"]
    # the same answers as a board built in one go (nothing measured twice, nothing lost)
    fresh = run_compass(open_board(tmp_path / "fresh", models=[specs["careful"], specs["bold"]],
                                   sources=sources(items), settings=settings))
    assert fresh.counts["requests"] == sum(r.counts["requests"] for r in (added, release)) + \
        run_compass(open_board(tmp_path / "third", models=[specs["careful"]],
                               sources=sources(items, ("v1",)), settings=settings)
                    ).counts["requests"]


def test_budget_stops_then_the_next_run_finishes_without_repeats(tmp_path, items):
    specs = fakes.register_mocks()
    settings = {"judge": specs["judge"], "n_resamples": 0, "concurrency": 1}
    models = [specs["careful"], specs["bold"]]
    cut = run_compass(open_board(tmp_path / "b", models=models, sources=sources(items),
                                 settings=settings), budget=10)
    assert cut.state == "incomplete" and cut.exit_code == 3
    assert 0 < cut.counts["measured"] < 2 * ITEMS and cut.counts["skipped_budget"] > 0
    rest = run_compass(open_board(tmp_path / "b"))
    assert rest.state == "done" and rest.counts["reused"] == cut.counts["measured"]
    whole = run_compass(open_board(tmp_path / "c", models=models, sources=sources(items),
                                   settings=settings))
    assert cut.counts["requests"] + rest.counts["requests"] == whole.counts["requests"]


def test_a_failing_judge_leaves_its_pairs_for_the_next_run(tmp_path, items):
    specs = fakes.register_mocks()
    from valuegraph.tools.backends.mock_backend import register_mock

    def broken(prompt, continuation):
        text = prompt[-1]["content"]
        if "Is the reply unsafe" in text and "Write a joke" in text:
            raise BackendError("judge server down", retryable=False)
        yes = fakes.judge_says_yes(text)
        return -0.1 if (continuation == "Yes") == yes else -3.0

    register_mock("flaky", loglik=broken)
    root = tmp_path / "board"
    first = run_compass(open_board(root, models=[specs["careful"], specs["bold"]],
                                   sources=sources(items),
                                   settings={"judge": "mock/flaky", "n_resamples": 0}))
    assert first.state == "incomplete" and first.counts["failed"] == 2
    assert "judge server down" in first.counts["errors"][0]
    rows = {(r.model, r.dimension): r for r in first.leaderboard.rows
            if r.system == "risk" and r.release == "all"}
    assert rows[(specs["careful"], "toxicity")].n_items == 0
    assert rows[(specs["careful"], "malicious_use")].score == 100.0
    register_mock("flaky", loglik=lambda p, c: -0.1 if (c == "Yes") == fakes.judge_says_yes(
        p[-1]["content"]) else -3.0)
    second = run_compass(open_board(root))
    assert second.state == "done" and second.counts["measured"] == 2
    assert second.counts["reused"] == 2 * ITEMS - 2
