"""`valuegraph run irote` and `valuegraph bench traits` from the command line: bad input is one
line, exit status 2 and nothing written; a run on the local test server, then the benchmark of
its reflections, with the requests counted on the server."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from valuegraph.api import run_graph
from valuegraph.cli import app
from valuegraph.testing.irote_fakes import RULES
from valuegraph.testing.process import start_server

REFLECTION = {"theory": "big_five", "dimension": "O", "lines": ["I wonder, e.g.: I ask why"]}


def files_under(path) -> list[str]:
    return sorted(str(p.relative_to(path)) for p in path.rglob("*"))


@pytest.fixture
def workdir(tmp_path):
    (tmp_path / "refl.jsonl").write_text(json.dumps(REFLECTION) + "\n")
    (tmp_path / "bad_refl.jsonl").write_text(json.dumps({**REFLECTION, "dimension": "Wit"})
                                             + "\n")
    (tmp_path / "rundir").mkdir()
    (tmp_path / "train_only.jsonl").write_text(json.dumps({
        "theory": "big_five", "dimension": "O", "text": "I like art.", "split": "train"}) + "\n")
    (tmp_path / "bad_items.jsonl").write_text(json.dumps({
        "theory": "big_five", "dimension": "O", "text": "I like art.", "split": "dev"}) + "\n")
    (tmp_path / "afile").write_text("x")
    return tmp_path


RUN = ["run", "irote", "--runs-dir", "runs"]
BENCH = ["bench", "traits", "refl.jsonl"]
CASES = {
    "unknown trait": ([*RUN, "--set", "params.traits=[Openness, Wisdom]"],
                      "irote: params.traits: 'Wisdom' is not a dimension of Big Five"),
    "unknown theory": ([*RUN, "--set", "params.theory=tarot"],
                       "irote: theory: Input should be 'schwartz', 'mft' or 'big_five'"),
    "missing item file": ([*RUN, "--set", "params.items=nope.jsonl"],
                          "nope.jsonl: item file not found"),
    "bad item row": ([*RUN, "--set", "params.items=bad_items.jsonl"],
                     "bad_items.jsonl: 1 bad row(s): line 1: 'split' must be train"),
    "no train items": ([*RUN, "--set", "params.items=train_only.jsonl", "--set",
                        "params.traits=[C]"], "no train items for big_five:C"),
    "bad hyperparameter": ([*RUN, "--set", "params.top_k=0"],
                           "irote: top_k: Input should be greater than or equal to 1"),
    "bad distractor turns": ([*RUN, "--set", "params.distractor_turns=[0, 30]"],
                             "distractor turns must be between 0 and 20, got [30]"),
    "unknown run setting": ([*RUN, "--set", "params.beta=2"],
                            "irote: unknown setting(s) ['beta']"),
    "missing reflections": (["bench", "traits", "nope.jsonl"],
                            "nope.jsonl: reflection file not found"),
    "not a run directory": (["bench", "traits", "rundir"], "is not an IROTE run directory"),
    "bad reflection row": (["bench", "traits", "bad_refl.jsonl"],
                           "bad_refl.jsonl:1: 'Wit' is not a dimension"),
    "one condition": ([*BENCH, "--conditions", "irote"],
                      "conditions must be at least two of raw, persona, irote"),
    "unknown condition": ([*BENCH, "--conditions", "raw,fewshot"], "got raw, fewshot"),
    "bad method": ([*BENCH, "--method", "vote"], "method must be auto, loglik or generate"),
    "bad turns": ([*BENCH, "--turns", "0,x"], "--turns expects whole numbers"),
    "turns out of range": ([*BENCH, "--turns", "50"], "distractor turns must be between 0"),
    "unknown provider": ([*BENCH, "-m", "nosuch/model"], "unknown provider 'nosuch'"),
    "missing api key": ([*BENCH, "--judge", "openai/gpt-4o-mini"],
                        "needs the environment variable(s) OPENAI_API_KEY"),
    "no held-out items": ([*BENCH, "--items", "train_only.jsonl"],
                          "no held-out items (split: test) for big_five:O"),
    "out is a file": ([*BENCH, "--out", "afile"], "--out afile is a file"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_one_line_exit_2_nothing_written(case, workdir, monkeypatch):
    args, message = CASES[case]
    monkeypatch.chdir(workdir)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    before = files_under(workdir)
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ") and message in lines[0]
    assert result.stdout == ""
    assert files_under(workdir) == before


def cli(*args: str, cwd) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "valuegraph.cli", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=300,
                          env={**os.environ, "COLUMNS": "200"})


def test_run_then_bench_on_the_local_server(tmp_path):
    server = start_server(rules=RULES)
    try:
        outcome = run_graph(
            "irote", runs_dir=tmp_path / "runs", run_id="r1", concurrency=2,
            models={role: "openai/test" for role in ("target", "optimizer", "judge")},
            api_bases={"openai/test": server.api_base},
            params={"traits": ["O", "N"], "rounds": 1, "initial_sets": 2, "set_size": 3,
                    "distractor_turns": [0, 1], "embedder": "hashing", "formats": ["jsonl"]})
        assert outcome.state == "done" and outcome.summary["ok"] == 2
        status = json.loads((tmp_path / "runs/r1/status.json").read_text())
        sent = server.admin()
        assert sent["requests"] == status["requests_total"] and sent["repeated"] == 0
        server.admin(reset=True)
        bench = cli("bench", "traits", str(tmp_path / "runs/r1"), "--out", "out",
                    "--set", "api_bases.openai/test=" + server.api_base,
                    "--set", "models.judge=openai/test", cwd=tmp_path)
        assert bench.returncode == 0, bench.stderr
        # 2 traits x 3 conditions x (4 held-out items + 6 prompts x (response + judgement)),
        # less the 6 raw responses that the two Big Five traits share
        sent = server.admin()
        assert sent["requests"] == 2 * 3 * (4 + 6 * 2) - 6 and sent["repeated"] == 0
    finally:
        server.stop()
    out = tmp_path / "out"
    rows = list(csv.DictReader(open(out / "traits.csv")))
    means = [r for r in rows if r["row"] == "mean"]
    paired = [r for r in rows if r["row"] == "paired"]
    assert len(means) == 2 * 2 * 3 and len(paired) == 3 * 2 * 3  # (2 traits + all) x 2 x 3
    downstream = [r for r in means if r["measure"] == "downstream"]
    assert {float(r["mean"]) for r in downstream} == {0.7}  # the judge's P(yes)
    pooled = [r for r in paired if r["trait"] == "all" and r["measure"] == "downstream"]
    assert {(r["n"], r["diff"], r["ties"]) for r in pooled} == {("12", "0.0000", "12")}
    heldout = [r for r in means if r["measure"] == "heldout"]
    assert all(0 < float(r["mean"]) <= 10 and r["n"] == "4" for r in heldout)
    scores = (out / "scores.jsonl").read_text().splitlines()
    assert len(scores) == 2 * 3 * (4 + 6)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["model"] == "openai/test" and len(summary["comparisons"]) == 18
    assert "<table>" in (out / "report.html").read_text()
    assert "irote - raw" in bench.stdout and "csv: out/traits.csv" in bench.stdout
