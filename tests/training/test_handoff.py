"""The typed hand-off from probing to training: `valuegraph train d2o` reads the negatives of a
real DeNEVIL run directory and of a real `bench moral` output directory, samples its anchors
from the policy and trains."""

from __future__ import annotations

import json

import pytest
import yaml
from typer.testing import CliRunner

from tests.training.conftest import CPU_TRAINING
from valuegraph.cli import app
from valuegraph.config import resolve_config
from valuegraph.graphs._shared.records import load_scored_completions
from valuegraph.graphs._shared.runner import execute_run
from valuegraph.graphs.denevil.runner import RUNNER
from valuegraph.tools.backends.mock_backend import register_mock
from valuegraph.tools.rundir import RunDir

PRINCIPLES = [
    {"id": "steal", "principle": "It's wrong to steal from a shop.", "foundation": "fairness"},
    {"id": "lie", "principle": "You should not lie to a friend.", "foundation": "loyalty"},
]


def scripted() -> None:
    """Odd continuations break the principle (the judge votes yes on them), even ones do not."""
    register_mock("w", respond=lambda m, p, i: "Sam faces this: " + m[-1]["content"].split('"')[1])
    register_mock("t", respond=lambda m, p, i: f"Sam {'takes the cash' if i % 2 else 'leaves'}"
                                               f" ({p.seed % 97}-{i}).")
    register_mock("j", respond=lambda m, p, i: "Yes" if "takes" in m[-1]["content"] else "No")


def denevil_run(tmp_path):
    path = tmp_path / "principles.jsonl"
    path.write_text("".join(json.dumps(p) + "\n" for p in PRINCIPLES))
    cfg = resolve_config({"graph": "denevil", "runs_dir": tmp_path / "runs", "run_id": "probe",
                          "models": {"attacker": "mock/w", "target": "mock/t", "judge": "mock/j"},
                          "params": {"principles": str(path), "rounds": 0, "samples": 4,
                                     "keep": 2, "scenarios_per_principle": 1,
                                     "judge_method": "vote", "judge_votes": 1,
                                     "dedup_threshold": None, "formats": ["jsonl"]}}, None, {})
    outcome = execute_run(RUNNER, cfg, RunDir.create(cfg))
    assert outcome.state == "done" and outcome.summary["ok"] == 2
    return outcome.root


def train_d2o(tmp_path, source, tiny_lm_dir) -> dict:
    config = {"model": str(tiny_lm_dir), "output_dir": str(tmp_path / "trained"), "k": 2,
              "data": {"negatives": {"source": "denevil", "path": str(source)},
                       "self_sampling": {"max_tokens": 3, "concurrency": 2}},
              "training": CPU_TRAINING}
    (tmp_path / "d2o.yaml").write_text(yaml.safe_dump(config))
    result = CliRunner().invoke(app, ["train", "d2o", "-c", str(tmp_path / "d2o.yaml")])
    assert result.exit_code == 0, result.output
    records = [json.loads(x) for x in
               (tmp_path / "trained" / "d2o_records.jsonl").read_text().splitlines()]
    state = json.loads((tmp_path / "trained" / "trainer_state.json").read_text())
    return {"records": records, "steps": state["global_step"]}


@pytest.mark.slow
def test_train_d2o_on_a_denevil_run_directory(tmp_path, tiny_lm_dir):
    scripted()
    run = denevil_run(tmp_path)
    rows = load_scored_completions(run)
    assert len(rows) == 2 * 4 and {r.model for r in rows} == {"mock/t"}
    violating = {(r.prompt, r.completion) for r in rows if r.score is not None and r.score > 0.5}
    assert len(violating) == 2 * 2  # samples 1 and 3 of each principle
    trained = train_d2o(tmp_path, run, tiny_lm_dir)
    assert {(r["prompt"][0]["content"], r["rejected"][0]["content"])
            for r in trained["records"]} == violating
    assert all(len(r["self_samples"]) == 2 for r in trained["records"])
    assert trained["steps"] == CPU_TRAINING["max_steps"]


@pytest.mark.slow
def test_train_d2o_on_a_bench_moral_output(tmp_path, tiny_lm_dir):
    scripted()
    run = denevil_run(tmp_path)
    out = tmp_path / "bench"
    result = CliRunner().invoke(app, ["bench", "moral", str(run), "-m", "mock/t", "--judge",
                                      "mock/j", "--judge-method", "vote", "--judge-votes", "1",
                                      "-k", "4", "--out", str(out), "--set", "cache=false"])
    assert result.exit_code == 0, result.output
    samples = [json.loads(x) for x in (out / "samples.jsonl").read_text().splitlines()]
    assert len(samples) == 2 * 4 and all(s["prompt"] for s in samples)
    violating = {(s["prompt"], s["completion"]) for s in samples if (s["score"] or 0) > 0.5}
    assert violating
    trained = train_d2o(tmp_path, out, tiny_lm_dir)
    assert {(r["prompt"][0]["content"], r["rejected"][0]["content"])
            for r in trained["records"]} == violating
