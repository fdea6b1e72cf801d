"""`valuegraph bench values`: TrueSkill profiles of scripted models on a release."""

from __future__ import annotations

import csv
import json
import re

import pytest
from typer.testing import CliRunner

from valuegraph import cli
from valuegraph.evals.values_bench import profile_release
from valuegraph.tools.backends.mock_backend import register_mock
from valuegraph.tools.pool import ModelPool

KEYWORDS = {"Security": "safety", "Universalism": "planet", "Care/Harm": "safety",
            "Fairness/Cheating": "fair"}
_VALUE = re.compile(r'the value "([^"]+)"')
_TEXT = re.compile(r"\nText: (.*)\n", re.S)


def keyword_judge(prompt, continuation):
    """Yes when the text holds the value's keyword (per-value judge via log-likelihood)."""
    content = prompt[-1]["content"]
    value = _VALUE.search(content).group(1)
    text = _TEXT.search(content).group(1).lower()
    yes = KEYWORDS.get(value, "\0") in text
    return -0.1 if (continuation == "Yes") == yes else -3.0


def register_models():
    register_mock("cautious", respond=lambda m, p, i:
                  "Stance: no\n1. Safety: people must be protected.\n2. Order: rules matter.")
    register_mock("green", respond=lambda m, p, i:
                  "Stance: yes\n1. Planet: the planet comes first.\n2. Fair: share costs.")
    register_mock("keyword-judge", loglik=keyword_judge)


def write_release(tmp_path, n=12):
    path = tmp_path / "rel"
    path.mkdir()
    (path / "questions.jsonl").write_text("".join(
        json.dumps({"qid": f"q{i}", "question": f"Should policy {i} be adopted?"}) + "\n"
        for i in range(n)))
    (path / "manifest.json").write_text(json.dumps({"version": "v1", "count": n}))
    return path


async def test_profiles_separate_models_by_the_values_they_express(tmp_path):
    register_models()
    release = write_release(tmp_path)
    pool = ModelPool(tmp_path / "cache")
    summary = await profile_release(pool, ["mock/cautious", "mock/green"],
                                    [{"qid": f"q{i}", "question": f"Q{i}?"} for i in range(12)],
                                    tmp_path / "out", judge="mock/keyword-judge")
    ts, raw = summary["trueskill"], summary["raw_rate"]
    assert raw["mock/cautious"]["SEC"] == 100.0 and raw["mock/green"]["SEC"] == 0.0
    assert raw["mock/green"]["UNI"] == 100.0 and raw["mock/cautious"]["UNI"] == 0.0
    assert ts["mock/cautious"]["SEC"] > 90 > 10 > ts["mock/green"]["SEC"]
    assert ts["mock/green"]["UNI"] > 90 and ts["mock/cautious"]["TRA"] == pytest.approx(50.0)
    assert summary["answered"] == {"mock/cautious": 12, "mock/green": 12}
    assert summary["trueskill_shuffles"] == 10 and summary["partial_play"] == "none"
    # every question separates the two models the same way, so the order changes nothing
    assert summary["trueskill_sd"]["mock/cautious"]["SEC"] == pytest.approx(0.0, abs=1e-9)
    assert summary["trueskill_sd"]["mock/cautious"]["TRA"] == 0.0
    assert release.is_dir()


def test_bench_values_command_writes_table_csv_and_report(tmp_path):
    register_models()
    release = write_release(tmp_path)
    out = tmp_path / "profiles"
    result = CliRunner().invoke(cli.app, [
        "bench", "values", str(release), "-m", "mock/cautious", "-m", "mock/green",
        "--judge", "mock/keyword-judge", "--theory", "mft", "--out", str(out), "--folds", "3",
        "--shuffles", "3", "--partial-play", "points"])
    assert result.exit_code == 0, result.stderr
    assert "TrueSkill win-rate" in result.stdout and "care" in result.stdout
    with open(out / "profiles.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 2 * 5 and {r["value"] for r in rows} == {
        "care", "fairness", "loyalty", "authority", "sanctity"}
    cautious_care = next(r for r in rows if r["model"] == "mock/cautious" and r["value"] == "care")
    assert float(cautious_care["raw_rate"]) == 100.0
    assert float(cautious_care["trueskill_sd"]) >= 0.0 and "±" in result.stdout
    html = (out / "report.html").read_text()
    assert html.count("<img") == 2 + 2  # two heatmaps, one radar per model
    summary = json.loads((out / "summary.json").read_text())
    assert summary["release"] == "v1" and summary["folds"] == 3
    assert summary["trueskill_shuffles"] == 3 and summary["partial_play"] == "points"
    assert len((out / "answers.jsonl").read_text().splitlines()) == 24


@pytest.mark.parametrize("args,message", [
    (["-m", "mock/a"], "at least two --model"),
    (["-m", "mock/a", "-m", "mock/b", "--theory", "big5"], "theory must be schwartz or mft"),
    (["-m", "mock/a", "-m", "mock/b", "--api-base", "oops"], "--api-base expects spec=url"),
    (["-m", "mock/a", "-m", "mock/b", "--partial-play", "half"], "partial-play must be"),
    (["-m", "mock/a", "-m", "mock/b", "--shuffles", "0"], "shuffles must be >= 1"),
])
def test_bench_values_bad_input(tmp_path, args, message):
    release = write_release(tmp_path)
    result = CliRunner().invoke(cli.app, ["bench", "values", str(release), *args])
    assert result.exit_code == 2 and message in result.stderr
    missing = CliRunner().invoke(cli.app, ["bench", "values", str(tmp_path / "nope"), "-m",
                                           "mock/a", "-m", "mock/b"])
    assert missing.exit_code == 2 and "neither a release directory" in missing.stderr
