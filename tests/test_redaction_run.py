"""Redaction masks secret *values* and credential *keys*, not every key with "token" in it: a
run's ``target_max_tokens`` / ``opinion_max_tokens`` and its token counts are stored as numbers,
and the run resumes from its stored config."""

from __future__ import annotations

import json

import yaml
from typer.testing import CliRunner

from tests.test_run_endings import REQUESTS_PER_PRINCIPLE, run_args, script
from valuegraph.cli import app
from valuegraph.testing import adaem_fakes as fakes
from valuegraph.tools.secrets import REDACTED, redact

SECRETS = {"OPENAI_API_KEY": "sk-redaction-test-5d1e", "HF_TOKEN": "hf_redactiontest9b"}


def test_redact_by_value_and_credential_key_only(monkeypatch):
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    data = {"target_max_tokens": 40, "opinion_max_tokens": 300, "prompt_tokens": 12,
            "max_tokens": "64", "tokens": [1, 2], "api_key": "whatever", "Authorization": "x",
            "headers": {"x-api-key": "k", "note": "Bearer sk-redaction-test-5d1e"},
            "text": "hf_redactiontest9b and sk-redaction-test-5d1e"}
    assert redact(data) == {
        "target_max_tokens": 40, "opinion_max_tokens": 300, "prompt_tokens": 12,
        "max_tokens": "64", "tokens": [1, 2], "api_key": REDACTED, "Authorization": REDACTED,
        "headers": {"x-api-key": REDACTED, "note": f"Bearer {REDACTED}"},
        "text": f"{REDACTED} and {REDACTED}"}


def test_denevil_token_settings_and_counts_kept_and_resumable(tmp_path, monkeypatch):
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    script(target_fails=False)
    args = run_args(tmp_path, "--budget", "4", "-s", "params.target_max_tokens=40",
                    "-s", "params.attacker_max_tokens=64")
    first = CliRunner().invoke(app, args)
    assert first.exit_code == 3, first.output  # stopped by the budget
    run = tmp_path / "runs" / "r"
    params = yaml.safe_load((run / "config.yaml").read_text())["params"]
    assert (params["target_max_tokens"], params["attacker_max_tokens"]) == (40, 64)
    usage = json.loads((run / "status.json").read_text())["usage"]
    assert usage["target"]["completion_tokens"] > 0 and usage["target"]["prompt_tokens"] > 0
    assert all(isinstance(u[k], int) for u in usage.values()
               for k in ("prompt_tokens", "completion_tokens"))

    config = run / "config.yaml"
    config.write_text(config.read_text().replace("budget: 4", "budget: null"))
    resumed = CliRunner().invoke(app, ["resume", "r", "--runs-dir", str(tmp_path / "runs")])
    assert resumed.exit_code == 0, resumed.output
    status = json.loads((run / "status.json").read_text())
    assert status["state"] == "done" and status["summary"]["done"] == 3
    assert status["requests_total"] == 3 * REQUESTS_PER_PRINCIPLE
    record = json.loads((run / "results.jsonl").read_text().splitlines()[0])
    assert record["requests"] == REQUESTS_PER_PRINCIPLE
    assert REDACTED not in (run / "config.yaml").read_text()


def test_adaem_opinion_max_tokens_kept_and_resumable(tmp_path, monkeypatch):
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    specs = fakes.register_all()
    runs = tmp_path / "runs"
    first = CliRunner().invoke(app, [
        "grow", "--runs-dir", str(runs), "--run-id", "g", "--steps", "1",
        "-e", specs["explorer"], "-r", specs["respondent"], "--judge", specs["judge"],
        "--optimizer", specs["optimizer"], "-s", "params.questions_per_step=1",
        "-s", "params.judge_mode=joint", "-s", "params.max_depth=0",
        "-s", "params.opinion_max_tokens=123", "-s", "params.question_max_tokens=77"])
    assert first.exit_code == 0, first.output
    config = runs / "g" / "config.yaml"
    params = yaml.safe_load(config.read_text())["params"]
    assert (params["opinion_max_tokens"], params["question_max_tokens"]) == (123, 77)
    usage = json.loads((runs / "g" / "status.json").read_text())["usage"]
    assert sum(u["completion_tokens"] for u in usage.values()) > 0
    assert all(isinstance(u["prompt_tokens"], int) for u in usage.values())

    # resumed with a raised bound, the finished run goes on in a new segment
    config.write_text(config.read_text().replace("steps: 1", "steps: 2"))
    resumed = CliRunner().invoke(app, ["grow", "--resume", "g", "--runs-dir", str(runs)])
    assert resumed.exit_code == 0, resumed.output
    status = json.loads((runs / "g" / "status.json").read_text())
    assert status["state"] == "done" and status["summary"]["steps_done"] == 2
    assert status["progress"]["tokens"] > 0
    assert REDACTED not in config.read_text()
