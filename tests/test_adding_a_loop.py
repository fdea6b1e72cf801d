"""docs/adding-a-loop.md: the toy loop printed there is complete, short, and runs on the kit."""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from pathlib import Path

import pytest

from valuegraph.config import ConfigError, resolve_config
from valuegraph.graphs._shared.runner import execute_run
from valuegraph.tools.backends.mock_backend import register_mock
from valuegraph.tools.rundir import RunDir

DOC = Path(__file__).resolve().parents[1] / "docs" / "adding-a-loop.md"


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    (code,) = re.findall(r"```python\n(.*?)```", DOC.read_text(), re.S)
    assert len(code.splitlines()) < 150
    path = tmp_path_factory.mktemp("toy") / "toy_loop.py"
    path.write_text(code)
    spec = importlib.util.spec_from_file_location("toy_loop", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["toy_loop"] = module
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop("toy_loop", None)


def scripted(polite_after: int):
    """The target is rude until it has been given advice ``polite_after`` times."""
    def target(messages, params, index):
        text = messages[-1]["content"]
        return "Please, could you..." if text.count("advice") >= polite_after else "Shut up!"

    def judge_loglik(prompt, continuation):
        polite = "Please" in str(prompt)
        p = 0.95 if polite else 0.1
        return -0.05 if (continuation == "Yes") == (p > 0.5) else -3.0

    register_mock("t", respond=target)
    register_mock("j", loglik=judge_loglik)
    register_mock("o", respond=lambda m, p, i: "Give advice: be kind.")


def config(tmp_path, **params):
    return resolve_config({"graph": "toy", "runs_dir": tmp_path, "run_id": "toy",
                           "models": {"target": "mock/t", "judge": "mock/j",
                                      "optimizer": "mock/o"},
                           "params": {"questions": ["Q one?", "Q two?"], **params}}, None, {})


def test_the_toy_loop_runs_on_the_kit_and_records_typed_results(toy, tmp_path):
    scripted(polite_after=1)
    cfg = config(tmp_path, rounds=3)
    toy.RUNNER.validate(cfg)
    outcome = execute_run(toy.RUNNER, cfg, RunDir.create(cfg))
    assert (outcome.state, outcome.summary["ok"], outcome.summary["failed"]) == ("done", 2, 0)
    lines = [json.loads(x) for x in (outcome.root / "results.jsonl").read_text().splitlines()]
    assert sorted(r["item_id"] for r in lines) == ["q0", "q1"]
    for record in lines:
        assert record["kind"] == "toy_answer" and record["exit_reason"] == "goal"
        assert record["answer"] == "Please, could you..." and record["rounds"] == 1
        # round 0: answer + judge (loglik); revise; round 1: answer + judge
        assert record["requests"] == 5
    status = json.loads((outcome.root / "status.json").read_text())
    assert status["state"] == "done" and status["requests_total"] == 10


def test_the_toy_loop_stops_at_its_rounds_and_its_settings_are_validated(toy, tmp_path):
    scripted(polite_after=99)
    outcome = execute_run(toy.RUNNER, config(tmp_path, rounds=1),
                          RunDir.create(config(tmp_path, rounds=1)))
    records = [json.loads(x) for x in (outcome.root / "results.jsonl").read_text().splitlines()]
    assert {r["exit_reason"] for r in records} == {"rounds"}
    assert {r["rounds"] for r in records} == {1}
    with pytest.raises(ConfigError, match=r"^toy: goal: Input should be less than or equal to 1"):
        toy.RUNNER.validate(config(tmp_path, goal=2))
    with pytest.raises(ConfigError, match=r"^toy: questions: List should have at least 1 item"):
        toy.RUNNER.validate(config(tmp_path, questions=[]))
    schema = toy.graph.get_context_jsonschema()["properties"]
    assert schema["goal"]["description"] == "Stop once P(polite) reaches this."
