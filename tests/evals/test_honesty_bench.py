"""``bench honesty`` on scripted models: the three judges' calls, metrics by hand, outputs."""

from __future__ import annotations

import csv
import json
import math

import pytest

from tests.graphs.mohobench.fakes import register_fakes
from valuegraph.evals.honesty_bench import (
    ANSWERS_FILE,
    HonestySettings,
    bench_and_report,
)
from valuegraph.graphs.mohobench.release import read_benchmark
from valuegraph.graphs.mohobench.scenes import Scene, render_png
from valuegraph.tools.backends.mock_backend import register_mock
from valuegraph.tools.types import BackendError

CODES = ("Context_Dependent", "False_Premises", "Subjective_or_Philosophical",
         "Vague_Description")


@pytest.fixture
def questions_file(tmp_path):
    """Scene 0's four known-unanswerable questions as a MoHoBench-style JSONL."""
    (tmp_path / "img").mkdir()
    (tmp_path / "img" / "s0.png").write_bytes(render_png(0))
    rows = [{"qid": f"s0-{code[:2]}", "question": q, "category": code, "reason": r,
             "image_path": "img/s0.png"}
            for code, (q, r) in Scene.from_index(0).unanswerable().items()]
    path = tmp_path / "questions.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_three_models_three_judges_by_hand(tmp_path, questions_file):
    fakes = register_fakes(1)
    benchmark = read_benchmark(questions_file)
    out = tmp_path / "out"
    judges = dict.fromkeys(("refusal", "rationality", "helpfulness"), "mock/judge")
    result = bench_and_report(benchmark, ["mock/eager", "mock/honest", "mock/sceptic"], judges,
                              out, HonestySettings(concurrency=4), api_bases={})
    eager, honest, sceptic = (result.scores[f"mock/{m}"] for m in ("eager", "honest", "sceptic"))
    assert (eager.refusal_rate, eager.helpfulness) == (0.0, 6.0)
    assert math.isnan(eager.rationality) and eager.n_refusals == 0
    assert honest.refusal_rate == 0.75 and honest.rationality == 8.0
    assert honest.helpfulness == pytest.approx((3 + 3 + 3 + 6) / 4)
    assert honest.refusal_by_type == {**dict.fromkeys(CODES[:3], 1.0), CODES[3]: 0.0}
    assert sceptic.refusal_by_type == {**dict.fromkeys(CODES, 0.0), CODES[2]: 1.0}
    # min-max: eager (0, 0, 1) and honest (1, 1, 0) score 0; sceptic (1/3, 1, 2/3):
    # min 1/3, sigma / sigma_max = 1/sqrt(3)
    assert result.bpi["mock/eager"] == 0.0 and result.bpi["mock/honest"] == 0.0
    assert result.bpi["mock/sceptic"] == pytest.approx((1 / 3) * (1 - 1 / math.sqrt(3)))

    judge_calls = [m[0]["content"] for m in fakes["judge"].calls]
    refusal_calls = [c for c in judge_calls if isinstance(c, str)]
    with_image = [c for c in judge_calls if isinstance(c, list)]
    assert len(refusal_calls) == 12  # text only
    rationality = [c for c in with_image if "declines to answer" in c[1]["text"]]
    assert len(rationality) == 4  # honest's 3 refusals and sceptic's 1 only
    assert all(Scene.from_index(0).unanswerable()[c][1] in "".join(
        x[1]["text"] for x in rationality) for c in CODES[:3])  # the reference reason is shown
    assert len(with_image) - len(rationality) == 12  # helpfulness of every answer

    answers = [json.loads(x) for x in (out / ANSWERS_FILE).read_text().splitlines()]
    assert len(answers) == 12 and {a["kind"] for a in answers} == {"honesty_answer"}
    refused = [a for a in answers if a["refusal"] == 1]
    assert all(a["rationality"] == 8 for a in refused)
    assert all(a["rationality"] is None for a in answers if a["refusal"] == 0)
    with open(out / "honesty_scores.csv", encoding="utf-8") as fh:
        rows = {r["model"]: r for r in csv.DictReader(fh)}
    assert rows["mock/honest"]["refusal_rate"] == "0.7500"
    assert rows["mock/eager"]["rationality"] == "" and rows["mock/eager"]["bpi"] == "0.0000"
    assert rows["mock/sceptic"]["refusal_Subjective_or_Philosophical"] == "1.0000"
    summary = json.loads((out / "summary.json").read_text())
    assert summary["models"]["mock/honest"]["n_refusals"] == 3
    assert summary["judges"]["refusal"] == "mock/judge"
    report = (out / "report.html").read_text()
    assert report.count("<img src=\"data:image/png;base64,") == 3
    assert "mock/judge" in report

    before = len(fakes["judge"].calls)
    again = bench_and_report(benchmark, ["mock/eager", "mock/honest", "mock/sceptic"], judges,
                             out, HonestySettings(), api_bases={})
    assert len(fakes["judge"].calls) == before  # the output directory's cache answered
    assert again.bpi == result.bpi


def test_a_failing_model_is_counted_not_fatal(tmp_path, questions_file):
    register_fakes(1)

    def flaky(messages, params, index):
        if "exact colour" in str(messages):
            raise BackendError("HTTP 400: no", retryable=False)
        return "Clearly the red one, in 1990."

    register_mock("flaky", respond=flaky)
    judges = dict.fromkeys(("refusal", "rationality", "helpfulness"), "mock/judge")
    result = bench_and_report(read_benchmark(questions_file), ["mock/flaky", "mock/honest"],
                              judges, tmp_path / "out", HonestySettings(), api_bases={})
    failed = [a for a in result.answers["mock/flaky"] if a.error]
    assert len(failed) == 1 and "HTTP 400" in failed[0].error
    assert result.scores["mock/flaky"].n_answers == 3
    assert math.isnan(result.scores["mock/flaky"].refusal_by_type[CODES[3]])
