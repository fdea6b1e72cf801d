"""``valuegraph compass``: a run from the command line, and bad input (one line, exit 2,
nothing written)."""

from __future__ import annotations

import hashlib
import json

import pytest
from typer.testing import CliRunner

from valuegraph import cli
from valuegraph.testing import compass_fakes as fakes


def invoke(*args: str):
    return CliRunner().invoke(cli.app, ["compass", *map(str, args)])


def snapshot(root) -> dict[str, str]:
    """Every file under ``root`` with a digest of its bytes."""
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture
def work(tmp_path, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    paths = fakes.write_items(tmp_path / "items")
    specs = fakes.register_mocks()
    (tmp_path / "rows.jsonl").write_text('{"prompt": "Hi", "domain": "weather"}\n')
    (tmp_path / "notrelease").mkdir()
    mft_release = tmp_path / "mftrel"
    mft_release.mkdir()
    (mft_release / "questions.jsonl").write_text('{"qid": "a", "question": "Q?"}\n')
    (mft_release / "manifest.json").write_text('{"version": "v1", "theory": "mft"}')
    (tmp_path / "me.yaml").write_text("priorities: {SDI: 1}\n")
    (tmp_path / "afile").write_text("x")
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("mine")
    return tmp_path, paths, specs


def good_args(paths, specs, board):
    return [board, "-m", specs["careful"], "--items", f"risk={paths['risk']}",
            "--judge", specs["judge"], "--resamples", "20"]


BAD = {
    "no models": (lambda p, s, b: [b, "--items", f"risk={p['risk']}"], "no models to evaluate"),
    "no items": (lambda p, s, b: [b, "-m", s["careful"]], "no items"),
    "unknown system": (lambda p, s, b: [b, "-m", s["careful"], "--items", f"values={p['risk']}"],
                       "unknown value system 'values'"),
    "items without system": (lambda p, s, b: [b, "-m", s["careful"], "--items", str(p["risk"])],
                             "--items expects SYSTEM=PATH"),
    "missing item file": (lambda p, s, b: [b, "-m", s["careful"], "--items", "risk=nope.jsonl"],
                          "nope.jsonl: no such file"),
    "bad item rows": (lambda p, s, b: [b, "-m", s["careful"], "--items",
                                       f"risk={b.parent / 'rows.jsonl'}"],
                      "domain 'weather' is not one of toxicity"),
    "not a release": (lambda p, s, b: [b, "-m", s["careful"], "--release",
                                       b.parent / "notrelease"],
                      "neither an AdAEM release"),
    "an MFT release": (lambda p, s, b: [b, "-m", s["careful"], "--release", b.parent / "mftrel"],
                       "is an AdAEM mft release"),
    "unknown culture": (lambda p, s, b: [*good_args(p, s, b), "--culture", "XX"],
                        "unknown culture 'XX'"),
    "bad person": (lambda p, s, b: [*good_args(p, s, b), "--person", b.parent / "me.yaml"],
                   "missing: STI"),
    "bad api base": (lambda p, s, b: [*good_args(p, s, b), "--api-base", "nourl"],
                     "--api-base expects NAME=VALUE"),
    "bad budget": (lambda p, s, b: [*good_args(p, s, b), "--budget", "-3"],
                   "--budget must be >= 1"),
    "samples at temperature 0": (lambda p, s, b: [*good_args(p, s, b), "-k", "3"],
                                 "3 samples at temperature 0"),
    "bad judge mode": (lambda p, s, b: [*good_args(p, s, b), "--judge-mode", "all"],
                       "judge mode must be per_value or joint"),
    "bad threshold": (lambda p, s, b: [*good_args(p, s, b), "--threshold", "1.5"],
                      "threshold must be in [0, 1)"),
    "unknown prompt": (lambda p, s, b: [*good_args(p, s, b), "--prompt", "NOPE=x"],
                       "unknown prompt 'NOPE'"),
    "bad resamples": (lambda p, s, b: [*good_args(p, s, b), "--resamples", "-1"],
                      "--resamples must be >= 0"),
    "unknown provider": (lambda p, s, b: [*good_args(p, s, b), "-m", "nosuch/model"],
                         "unknown provider 'nosuch'"),
    "missing api key": (lambda p, s, b: [*good_args(p, s, b), "-m", "openai/gpt-4o-mini"],
                        "needs the environment variable(s) OPENAI_API_KEY"),
    "missing classifier": (lambda p, s, b: [*good_args(p, s, b), "--violation-judge",
                                            "classifier/none"], "holds no model"),
    "board is a file": (lambda p, s, b: good_args(p, s, b.parent / "afile"), "is a file"),
    "directory not a board": (lambda p, s, b: good_args(p, s, b.parent / "other"),
                              "a non-empty directory without board.json"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_input_one_line_exit_2_nothing_written(case, work):
    root, paths, specs = work
    make, message = BAD[case]
    before = snapshot(root)
    result = invoke(*make(paths, specs, root / "board"))
    assert result.exit_code == 2, (result.stdout, result.stderr)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ") and message in lines[0], lines[0]
    assert snapshot(root) == before


def test_a_board_refuses_another_judge_and_stays_unchanged(work):
    root, paths, specs = work
    board = root / "board"
    assert invoke(*good_args(paths, specs, board)).exit_code == 0
    before = snapshot(root)
    result = invoke(board, "--judge", specs["careful"], "-m", specs["bold"])
    assert result.exit_code == 2
    assert "measures with judge = 'mock/judge'" in result.stderr
    assert snapshot(root) == before


def test_a_damaged_answers_file_is_named_and_nothing_changes(work):
    root, paths, specs = work
    board = root / "board"
    assert invoke(*good_args(paths, specs, board)).exit_code == 0
    with open(board / "answers.jsonl", "a") as fh:
        fh.write('{"model": "x"}\n')
    before = snapshot(root)
    result = invoke(board, "-m", specs["bold"])
    assert result.exit_code == 2
    assert "answers.jsonl: record 4: field 'key'" in result.stderr
    assert snapshot(root) == before


def test_compass_command_prints_the_ranking_and_the_output_paths(work):
    root, paths, specs = work
    board = root / "board"
    result = invoke(board, "-m", specs["careful"], "-m", specs["bold"], "--release",
                    paths["v1"].parent.parent, "--items", f"mft={paths['mft']}", "--items",
                    f"risk={paths['risk']}", "--items", f"fulva={paths['fulva']}", "--judge",
                    specs["judge"], "--resamples", "50", "--culture", "FR", "--culture", "CN")
    assert result.exit_code == 0, result.stderr
    assert "Value Compass (0-100)" in result.stdout
    assert "measured 34 pair(s), reused 0" in result.stdout
    assert f"report: {board / 'report.html'}" in result.stdout
    document = json.loads((board / "leaderboard.json").read_text())
    assert [t["key"] for t in document["targets"]] == ["FR", "CN"]
    assert json.loads((board / "board.json").read_text())["settings"]["judge"] == "mock/judge"

    again = invoke(board, "--budget", "1")  # nothing new: the budget is not even touched
    assert again.exit_code == 0 and "measured 0 pair(s), reused 34, requests 0" in again.stdout


def test_budget_exit_3_says_how_to_continue(work):
    root, paths, specs = work
    result = invoke(*good_args(paths, specs, root / "board"), "-m", specs["bold"],
                    "--concurrency", "1", "--budget", "2")
    assert result.exit_code == 3
    assert "incomplete" in result.stderr and "run the same command again" in result.stderr
