"""`valuegraph grow`: bad input is one line on stderr, exit 2, nothing written; releases and
approvals from the command line."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from valuegraph import cli
from valuegraph.graphs.adaem.runner import APPROVAL_DECISION, APPROVAL_PENDING
from valuegraph.testing import adaem_fakes as fakes


@pytest.fixture(scope="module")
def app():
    return cli.app


def invoke(app, *args):
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize("args,message", [
    (["--theory", "big5"], "adaem: theory: Input should be 'schwartz' or 'mft' (got 'big5')"),
    (["--steps", "many"], "--steps must be a whole number of bandit steps or 'none'"),
    (["--budget", "-3"], "--budget must be >= 1 model requests or 'none', got -3"),
    (["--budget", "0"], "--budget must be >= 1 model requests"),
    (["-s", "params.tau=oops"], "adaem: tau: Input should be a valid number"),
    (["--resume", "nope"], "no run 'nope'"),
])
def test_bad_grow_input_fails_with_one_line(app, tmp_path, args, message):
    runs = tmp_path / "runs"
    code, _, stderr = invoke(app, "grow", "--runs-dir", str(runs), *args)
    assert code == 2
    assert message in stderr and len(stderr.strip().splitlines()) == 1, stderr
    assert not runs.exists()


def test_bad_seed_file_names_the_line(app, tmp_path):
    seeds = tmp_path / "mine.jsonl"
    seeds.write_text('{"topic": "ok topic", "questions": ["Fine?"]}\n{"topic": "x y z", '
                     '"questions": []}\n')
    code, _, stderr = invoke(app, "grow", "--runs-dir", str(tmp_path / "runs"),
                             "--seeds", str(seeds))
    assert code == 2 and "mine.jsonl:2: questions" in stderr
    assert not (tmp_path / "runs").exists()


def test_grow_then_release_and_approve_commands(app, tmp_path):
    specs = fakes.register_all()
    runs = tmp_path / "runs"
    code, stdout, stderr = invoke(
        app, "grow", "--runs-dir", str(runs), "--run-id", "g", "--steps", "2",
        "-e", specs["explorer"], "-r", specs["respondent"], "--judge", specs["judge"],
        "--optimizer", specs["optimizer"], "-s", "params.questions_per_step=2",
        "-s", "params.judge_mode=joint", "-s", "params.max_depth=0")
    assert code == 0, stderr
    status = json.loads((runs / "g" / "status.json").read_text())
    assert status["state"] == "done" and status["summary"]["steps_done"] == 2
    code, stdout, _ = invoke(app, "grow", "release", "g", "--runs-dir", str(runs))
    assert code == 0 and stdout.startswith("v1: ")
    code, stdout, _ = invoke(app, "grow", "release", "g", "--runs-dir", str(runs))
    assert code == 0 and "nothing new to release" in stdout
    code, _, stderr = invoke(app, "grow", "approve", "g", "--runs-dir", str(runs))
    assert code == 2 and "no pending approval" in stderr
    (runs / "g" / APPROVAL_PENDING).write_text(json.dumps(
        [{"questions": [{"id": "a"}, {"id": "b"}]}]))
    code, _, stderr = invoke(app, "grow", "approve", "g", "--runs-dir", str(runs),
                             "--reject", "zzz")
    assert code == 2 and "not pending: zzz" in stderr
    code, stdout, _ = invoke(app, "grow", "approve", "g", "--runs-dir", str(runs),
                             "--reject", "b")
    assert code == 0 and "approved 1, rejected 1" in stdout
    assert json.loads((runs / "g" / APPROVAL_DECISION).read_text()) == {"reject": ["b"]}
    code, _, stderr = invoke(app, "grow", "release", "nope", "--runs-dir", str(runs))
    assert code == 2 and "no run 'nope'" in stderr


def test_a_budget_stop_is_incomplete_and_resume_with_more_budget_finishes(app, tmp_path):
    specs = fakes.register_all()
    runs = tmp_path / "runs"
    args = ["grow", "--runs-dir", str(runs), "--run-id", "b", "--steps", "3",
            "-e", specs["explorer"], "-r", specs["respondent"], "--judge", specs["judge"],
            "--optimizer", specs["optimizer"], "-s", "params.questions_per_step=2",
            "-s", "params.judge_mode=joint", "-s", "params.max_depth=0"]
    code, _, stderr = invoke(app, *args, "--budget", "5")
    assert code == 3, stderr  # the budget is a pause, not the end: only --steps finishes
    status = json.loads((runs / "b" / "status.json").read_text())
    assert status["state"] == "incomplete" and status["summary"]["steps_done"] < 3
    assert status["summary"]["exit_reason"] == "budget"
    before = (runs / "b" / "config.yaml").read_text()
    code, _, stderr = invoke(app, "grow", "--runs-dir", str(runs), "--resume", "b",
                             "--steps", "9")
    assert code == 2 and stderr.strip().splitlines()[-1] == (
        "error: --resume continues a run with its stored config; only --budget may change, "
        "not --steps")
    assert (runs / "b" / "config.yaml").read_text() == before  # nothing written
    code, _, stderr = invoke(app, "grow", "--runs-dir", str(runs), "--resume", "b",
                             "--budget", "none")
    assert code == 0, stderr
    status = json.loads((runs / "b" / "status.json").read_text())
    assert status["state"] == "done" and status["summary"]["steps_done"] == 3
    assert "budget: null" in (runs / "b" / "config.yaml").read_text()
