"""Every command's bad-input contract, table-driven: exit status 2, exactly one line on stderr,
no traceback, and nothing written (the working directory's tree, sizes and times unchanged).

Most cases run in-process through typer's CliRunner (fast); a few run ``python -m
valuegraph.cli`` in a subprocess for the real exit status and everything the process prints.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from valuegraph.cli import app
from valuegraph.config import resolve_config
from valuegraph.tools.rundir import RunDir

LATIN1 = "Szenario: Gr\u00fc\u00dfe aus K\u00f6ln {principle}\n".encode("latin-1")
GOOD_QUESTION = {"kind": "question", "key": "q1", "qid": "q1", "topic_id": "t1",
                 "question": "Should cities ban cars?", "S": 0.5, "status": "kept",
                 "round_b": 0, "depth": 0, "theory": "schwartz"}


def make_run(runs: Path, run_id: str, graph: str = "denevil", **config) -> Path:
    run = RunDir.create(resolve_config({"graph": graph, "runs_dir": runs, "run_id": run_id,
                                        **config}, None, {}))
    return run.root


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    """Input files and run directories, each broken in one way."""
    root = tmp_path_factory.mktemp("bad-input")
    (root / "malformed.yaml").write_text("budget: [1,\n")
    (root / "latin1.yaml").write_bytes(b"graph: denevil\n# K\xf6ln\n")
    (root / "list.yaml").write_text("- 1\n- 2\n")
    (root / "unknown.yaml").write_text("surprise: 1\n")
    (root / "settings.txt").write_text("budget: 3\n")
    (root / "dir.yaml").mkdir()
    (root / "latin1-prompt.txt").write_bytes(LATIN1)
    (root / "latin1-principles.jsonl").write_bytes(
        b'{"id": "p1", "principle": "It is wrong to steal in K\xf6ln", "foundation": "fairness"}\n')
    (root / "broken-principles.jsonl").write_text(
        '{"id": "p1", "principle": "It is wrong to steal.", "foundation": "fairness"}\n{"id":\n')
    (root / "principles-dir.jsonl").mkdir()
    (root / "latin1-seeds.jsonl").write_bytes(b'{"topic": "K\xf6ln"}\n')
    (root / "prompts-latin1.jsonl").write_bytes(
        b'{"prompt": "K\xf6ln", "principle": "p", "foundation": "care"}\n')
    (root / "a-file").write_text("not a directory\n")
    (root / "prompts.jsonl").write_text(json.dumps(
        {"prompt": "Sam finds a wallet.", "principle": "Do not steal.", "foundation": "fairness"})
        + "\n")
    (root / "pairs.jsonl").write_text(json.dumps(
        {"principle": "Do not steal.", "text": "Sam keeps the wallet.", "label": 1}) + "\n")
    (root / "pairs-latin1.jsonl").write_bytes(b'{"principle": "p", "text": "K\xf6ln", '
                                              b'"label": 1}\n')
    (root / "base-model").mkdir()
    release = root / "release"
    release.mkdir()
    (release / "questions.jsonl").write_text(json.dumps({"qid": "q1", "question": "Q?"}) + "\n")
    (release / "manifest.json").write_text(json.dumps({"version": "v1"}))
    (root / "train-latin1.yaml").write_bytes(b"model: K\xf6ln\n")
    (root / "malformed.toml").write_text("budget = [1,\n")
    (root / "train-missing-data.yaml").write_text(yaml.safe_dump(
        {"model": "m", "output_dir": "out", "data": {"records": "missing.jsonl"}}))
    (root / "train-unknown.yaml").write_text(yaml.safe_dump(
        {"model": "m", "output_dir": "out", "data": {"records": "r.jsonl"}, "surprise": 1}))

    runs = root / "runs"
    make_run(runs, "ok-denevil")
    bad_yaml = make_run(runs, "bad-yaml")
    (bad_yaml / "config.yaml").write_text("graph: denevil\nbudget: [1,\n")
    bad_type = make_run(runs, "bad-type")
    data = yaml.safe_load((bad_type / "config.yaml").read_text())
    (bad_type / "config.yaml").write_text(yaml.safe_dump({**data, "concurrency": "lots"}))
    latin1 = make_run(runs, "latin1-config")
    (latin1 / "config.yaml").write_bytes(b"graph: denevil\n# K\xf6ln\n")
    not_mapping = make_run(runs, "list-config")
    (not_mapping / "config.yaml").write_text("- denevil\n")
    inner = make_run(runs, "inner-broken")
    (inner / "results.jsonl").write_text('{"id": "a", "item_id": "a", "status": "ok"}\n'
                                         '{"id": "b", "item_\n'
                                         '{"id": "c", "item_id": "c", "status": "ok"}\n')
    latin1_results = make_run(runs, "latin1-results")
    (latin1_results / "results.jsonl").write_bytes(b'{"id": "K\xf6ln"}\n')
    make_run(runs, "empty")
    bad_status = make_run(runs, "bad-status")
    (bad_status / "status.json").write_text('{"state": "incomplete", "requests_total": "lots"}')
    grow_inner = make_run(runs, "grow-inner-broken", graph="adaem")
    (grow_inner / "results.jsonl").write_text(
        json.dumps(GOOD_QUESTION) + '\n{"kind": "question", "key"\n'
        + json.dumps({**GOOD_QUESTION, "key": "q2", "qid": "q2"}) + "\n")
    pending = make_run(runs, "pending-broken", graph="adaem")
    (pending / "approval_pending.json").write_text('[{"questions": [{"id": "q1"')
    pending_latin1 = make_run(runs, "pending-latin1", graph="adaem")
    (pending_latin1 / "approval_pending.json").write_bytes(b'[{"questions": [{"id": "K\xf6ln"}]}]')
    pending_shape = make_run(runs, "pending-shape", graph="adaem")
    (pending_shape / "approval_pending.json").write_text('{"questions": "q1"}')
    pending_ok = make_run(runs, "pending-ok", graph="adaem")
    (pending_ok / "approval_pending.json").write_text(
        json.dumps([{"questions": [{"id": "q1"}, {"id": "q2"}]}]))
    make_run(runs, "adaem-no-pending", graph="adaem")
    return root


@dataclass
class Case:
    args: list[str]
    message: str
    """Text the one stderr line must hold."""
    env: dict[str, str | None] = field(default_factory=dict)


MOCKS = ["-s", "models.attacker=mock/a", "-s", "models.target=mock/t", "-s",
         "models.judge=mock/j", "-s", "models.optimizer=mock/o"]
NO_KEY = {"OPENAI_API_KEY": None}

CASES: dict[str, Case] = {
    # -- run: the run config -------------------------------------------------------------------
    "run unknown graph": Case(["run", "nosuch"], "unknown graph 'nosuch'"),
    "run malformed config": Case(["run", "denevil", "-c", "malformed.yaml"],
                                 "malformed config file malformed.yaml"),
    "run non-UTF-8 config": Case(["run", "denevil", "-c", "latin1.yaml"],
                                 "latin1.yaml is not UTF-8 text"),
    "run config is a directory": Case(["run", "denevil", "-c", "dir.yaml"],
                                      "dir.yaml is a directory"),
    "run config missing": Case(["run", "denevil", "-c", "missing.yaml"],
                               "config file missing.yaml not found"),
    "run config wrong suffix": Case(["run", "denevil", "-c", "settings.txt"],
                                    "must end in .yaml, .yml or .toml"),
    "run config not a mapping": Case(["run", "denevil", "-c", "list.yaml"],
                                     "must hold a mapping of settings, not a list"),
    "run malformed TOML config": Case(["run", "denevil", "-c", "malformed.toml"],
                                      "malformed config file malformed.toml"),
    "run api_bases not a mapping": Case(["run", "denevil", "-s", "api_bases=3"],
                                        "invalid setting api_bases: Input should be a valid "
                                        "dictionary"),
    "run unknown checkpointer": Case(["run", "denevil", "-s", "checkpointer=mysql://x"],
                                     "checkpointer must be 'sqlite' or a postgresql:// URL"),
    "run empty model spec": Case(["run", "denevil", "-s", "models.target="],
                                 "empty model spec"),
    "run unknown setting": Case(["run", "denevil", "-c", "unknown.yaml"],
                                "unknown setting 'surprise'"),
    "run --budget 0": Case(["run", "denevil", "--budget", "0"], "--budget must be >= 1"),
    "run --budget not a number": Case(["run", "denevil", "--budget", "lots"],
                                      "--budget must be a whole number"),
    "run --set budget=0": Case(["run", "denevil", "-s", "budget=0"], "budget must be >= 1"),
    "run --set concurrency=0": Case(["run", "denevil", "-s", "concurrency=0"],
                                    "concurrency must be >= 1"),
    "run --set without =": Case(["run", "denevil", "-s", "budget"], "--set expects key=value"),
    "run --run-id ../x": Case(["run", "denevil", "--run-id", "../x"], "run id '../x' must be"),
    "run --run-id a/b": Case(["run", "denevil", "--run-id", "a/b"], "run id 'a/b' must be"),
    "run --runs-dir is a file": Case(["run", "denevil", "--runs-dir", "a-file", *MOCKS],
                                     "runs directory a-file is a file"),
    "run env VALUEGRAPH_BUDGET unclosed": Case(
        ["run", "denevil"], "environment variable VALUEGRAPH_BUDGET is not a valid value",
        {"VALUEGRAPH_BUDGET": "[unclosed"}),
    "run env VALUEGRAPH_CONCURRENCY wrong type": Case(
        ["run", "denevil"], "invalid setting concurrency", {"VALUEGRAPH_CONCURRENCY": "many"}),
    "run existing run id": Case(["run", "denevil", "--run-id", "ok-denevil", *MOCKS],
                                "run directory runs/ok-denevil already exists"),
    # -- run: models ---------------------------------------------------------------------------
    "run unknown provider": Case(["run", "denevil", "-s", "models.target=nosuch/m"],
                                 "unknown provider 'nosuch'"),
    "run missing API key": Case(["run", "denevil", "-s", "models.judge=openai/gpt-4o-mini"],
                                "needs the environment variable(s) OPENAI_API_KEY", NO_KEY),
    "run unknown role": Case(["run", "denevil", "-s", "models.critic=local"],
                             "unknown role(s) ['critic']"),
    # -- run: the graph's params ---------------------------------------------------------------
    "run adaem non-UTF-8 prompt file": Case(
        ["run", "adaem", *MOCKS, "-s", "params.prompts={REFLECT: latin1-prompt.txt}"],
        "latin1-prompt.txt: prompt file is not UTF-8 text"),
    "run denevil non-UTF-8 prompt file": Case(
        ["run", "denevil", *MOCKS, "-s", "params.prompts={CONTINUE_PROMPT: latin1-prompt.txt}"],
        "latin1-prompt.txt: prompt file is not UTF-8 text"),
    "run denevil prompt file is a directory": Case(
        ["run", "denevil", *MOCKS, "-s", "params.prompts={SCENARIO_PROMPT: dir.yaml}"],
        "dir.yaml: is a directory"),
    "run denevil unknown prompt": Case(
        ["run", "denevil", *MOCKS, "-s", "params.prompts={NOSUCH: text}"],
        "unknown prompt 'NOSUCH'"),
    "run denevil old scenario_prompt setting": Case(
        ["run", "denevil", *MOCKS, "-s", "params.scenario_prompt=latin1-prompt.txt"],
        "unknown setting(s) ['scenario_prompt']"),
    "run principles non-UTF-8": Case(
        ["run", "denevil", *MOCKS, "--set", "params.principles=latin1-principles.jsonl"],
        "latin1-principles.jsonl: principles file is not UTF-8 text"),
    "run principles broken line": Case(
        ["run", "denevil", *MOCKS, "--set", "params.principles=broken-principles.jsonl"],
        "broken-principles.jsonl: 1 bad row(s): line 2: not valid JSON"),
    "run principles is a directory": Case(
        ["run", "denevil", *MOCKS, "--set", "params.principles=principles-dir.jsonl"],
        "principles-dir.jsonl: is a directory"),
    "run principles missing": Case(
        ["run", "denevil", *MOCKS, "--set", "params.principles=nope.jsonl"],
        "nope.jsonl: principles file not found"),
    "run principles under a file (unreadable)": Case(
        ["run", "denevil", *MOCKS, "--set", "params.principles=a-file/p.jsonl"],
        "a-file/p.jsonl"),
    "run unknown foundation": Case(
        ["run", "denevil", *MOCKS, "-s", "params.foundations=[nosuch]"], "params.foundations"),
    "run param wrong type": Case(["run", "denevil", *MOCKS, "-s", "params.rounds=abc"],
                                 "denevil: rounds: Input should be a valid integer"),
    "run param out of range": Case(["run", "denevil", *MOCKS, "-s", "params.samples=2",
                                    "-s", "params.keep=3"], "keep (M=3) must be <= samples"),
    "run unknown param": Case(["run", "denevil", *MOCKS, "-s", "params.nosuch=1"],
                              "unknown setting(s) ['nosuch']"),
    "run param set by the run config": Case(["run", "denevil", *MOCKS, "-s", "params.seed=3"],
                                            "params.seed is set from the run config"),
    "run request_timeout 0": Case(["run", "denevil", *MOCKS, "-s", "params.request_timeout=0"],
                                  "request_timeout: Input should be greater than 0"),
    "run max_attempts 0": Case(["run", "adaem", *MOCKS, "-s", "params.max_attempts=0"],
                               "max_attempts: Input should be greater than or equal to 1"),
    # -- resume --------------------------------------------------------------------------------
    "resume unknown run": Case(["resume", "nope"], "no run 'nope'"),
    "resume malformed config.yaml": Case(["resume", "bad-yaml"], "malformed run config"),
    "resume wrong-type config.yaml": Case(["resume", "bad-type"],
                                          "invalid setting concurrency"),
    "resume non-UTF-8 config.yaml": Case(["resume", "latin1-config"],
                                         "run config is not UTF-8 text"),
    "resume config.yaml not a mapping": Case(["resume", "list-config"],
                                             "a run config must be a mapping"),
    "resume broken inner line in results": Case(["resume", "inner-broken"],
                                                "results.jsonl:2: broken record"),
    "resume damaged status count": Case(["resume", "bad-status"],
                                        "requests_total must be a whole number >= 0"),
    # -- runs ----------------------------------------------------------------------------------
    "runs missing runs dir": Case(["runs", "--runs-dir", "missing-runs"],
                                  "runs directory missing-runs does not exist"),
    "runs runs dir is a file": Case(["runs", "--runs-dir", "a-file"],
                                    "runs directory a-file is not a directory"),
    # -- export --------------------------------------------------------------------------------
    "export bad format": Case(["export", "ok-denevil", "--format", "xml"],
                              "unknown format 'xml'"),
    "export unknown run": Case(["export", "nope"], "no run 'nope'"),
    "export broken inner line": Case(["export", "inner-broken"],
                                     "results.jsonl:2: broken record"),
    "export non-UTF-8 results": Case(["export", "latin1-results"],
                                     "results file is not UTF-8 text"),
    "export no records": Case(["export", "empty"], "has no records to export yet"),
    # -- models --------------------------------------------------------------------------------
    "models unknown provider": Case(["models", "-s", "models.target=nosuch/m"],
                                    "unknown provider 'nosuch'"),
    "models missing API key": Case(["models", "-s", "models.judge=openai/gpt-4o-mini"],
                                   "OPENAI_API_KEY", NO_KEY),
    "models non-UTF-8 config": Case(["models", "-c", "latin1.yaml"], "is not UTF-8 text"),
    "models bad extra spec": Case(["models", *MOCKS, "-m", "nosuch/x"],
                                  "unknown provider 'nosuch'"),
    # -- demo ----------------------------------------------------------------------------------
    "demo --principles 0": Case(["demo", "--principles", "0"], "--principles must be >= 1"),
    "demo unknown provider": Case(["demo", "-s", "models.target=nosuch/m"],
                                  "unknown provider 'nosuch'"),
    "demo runs dir is a file": Case(["demo", "--runs-dir", "a-file", *MOCKS],
                                    "runs directory a-file is a file"),
    "demo env budget unclosed": Case(["demo"], "VALUEGRAPH_BUDGET",
                                     {"VALUEGRAPH_BUDGET": "[unclosed"}),
    # -- bench moral ---------------------------------------------------------------------------
    "bench moral prompts missing": Case(["bench", "moral", "nope.jsonl", "-m", "mock/t",
                                         "--judge", "mock/j"], "nope.jsonl: prompt file not found"),
    "bench moral prompts non-UTF-8": Case(["bench", "moral", "prompts-latin1.jsonl", "-m",
                                           "mock/t", "--judge", "mock/j"], "is not UTF-8 text"),
    "bench moral --out is a file": Case(
        ["bench", "moral", "prompts.jsonl", "-m", "mock/t", "--judge", "mock/j",
         "--out", "a-file"], "--out a-file is a file, not a directory"),
    "bench moral not a run with a dataset": Case(
        ["bench", "moral", "runs/ok-denevil", "-m", "mock/t", "--judge", "mock/j"],
        "is not a DeNEVIL run with an exported dataset"),
    "bench moral --samples 0": Case(["bench", "moral", "prompts-latin1.jsonl", "-m", "mock/t",
                                     "--judge", "mock/j", "--samples", "0"], "samples"),
    "bench moral judge method": Case(["bench", "moral", "prompts-latin1.jsonl", "-m", "mock/t",
                                      "--judge", "mock/j", "--judge-method", "guess"],
                                     "judge_method"),
    "bench moral classifier judge missing": Case(
        ["bench", "moral", "prompts-latin1.jsonl", "-m", "mock/t", "--judge",
         "classifier/nope"], "holds no model"),
    # -- bench values --------------------------------------------------------------------------
    "bench values --out is a file": Case(["bench", "values", "release", "-m", "mock/a", "-m",
                                          "mock/b", "--judge", "mock/j", "--out", "a-file"],
                                         "--out a-file is a file"),
    "bench values one model": Case(["bench", "values", "release", "-m", "mock/a"],
                                   "give at least two --model"),
    "bench values release missing": Case(["bench", "values", "nope", "-m", "mock/a", "-m",
                                          "mock/b"], "is neither a release directory"),
    "bench values --out under a file": Case(["bench", "values", "release", "-m", "mock/a",
                                             "-m", "mock/b", "--out", "a-file/sub"],
                                            "cannot create output directory a-file/sub"),
    "bench values bad theory": Case(["bench", "values", "release", "-m", "mock/a", "-m",
                                     "mock/b", "--theory", "nosuch"], "theory must be"),
    "bench values bad --api-base": Case(["bench", "values", "release", "-m", "mock/a", "-m",
                                         "mock/b", "--api-base", "nourl"],
                                        "--api-base expects spec=url"),
    "bench values missing API key": Case(["bench", "values", "release", "-m", "mock/a", "-m",
                                          "openai/x"], "OPENAI_API_KEY", NO_KEY),
    # -- bench train-judge ---------------------------------------------------------------------
    "train-judge data missing": Case(["bench", "train-judge", "--data", "nope.jsonl",
                                      "--base-model", "base-model", "--out", "judge"],
                                     "nope.jsonl: pairs file not found"),
    "train-judge data non-UTF-8": Case(["bench", "train-judge", "--data", "pairs-latin1.jsonl",
                                        "--base-model", "base-model", "--out", "judge"],
                                       "is not UTF-8 text"),
    "train-judge base model missing": Case(
        ["bench", "train-judge", "--data", "broken-principles.jsonl", "--base-model", "nope",
         "--out", "judge"], "bad row"),
    "train-judge --out is a file": Case(
        ["bench", "train-judge", "--data", "pairs.jsonl", "--base-model", "base-model",
         "--out", "a-file"], "--out a-file is a file, not a directory"),
    # -- grow ----------------------------------------------------------------------------------
    "grow --steps 0": Case(["grow", "--steps", "0", *MOCKS], "--steps must be >= 1"),
    "grow --budget 0": Case(["grow", "--budget", "0", *MOCKS], "--budget must be >= 1"),
    "grow --seeds missing": Case(["grow", "--seeds", "nope.jsonl", *MOCKS],
                                 "seed file nope.jsonl does not exist"),
    "grow --seeds non-UTF-8": Case(["grow", "--seeds", "latin1-seeds.jsonl", *MOCKS],
                                   "is not UTF-8 text"),
    "grow --seeds is a directory": Case(["grow", "--seeds", "dir.yaml", *MOCKS],
                                        "seed file dir.yaml is a directory"),
    "grow --theory bad": Case(["grow", "--theory", "nosuch", *MOCKS], "theory"),
    "grow non-UTF-8 prompt file": Case(
        ["grow", *MOCKS, "-s", "params.prompts={REFINE: latin1-prompt.txt}"],
        "prompt file is not UTF-8 text"),
    "grow --run-id ../x": Case(["grow", "--run-id", "../x", *MOCKS], "run id '../x' must be"),
    "grow --resume unknown": Case(["grow", "--resume", "nope"], "no run 'nope'"),
    "grow --resume a denevil run": Case(["grow", "--resume", "ok-denevil"],
                                        "is a 'denevil' run, not an adaem run"),
    "grow --resume broken inner line": Case(["grow", "--resume", "grow-inner-broken"],
                                            "results.jsonl:2: broken record"),
    "grow --resume malformed config": Case(["grow", "--resume", "bad-yaml"],
                                           "malformed run config"),
    # -- grow release / approve ----------------------------------------------------------------
    "grow release unknown run": Case(["grow", "release", "nope"], "no run 'nope'"),
    "grow release --against missing": Case(["grow", "release", "adaem-no-pending", "--against",
                                            "nope"], "--against path(s) not found: nope"),
    "grow release broken inner line": Case(["grow", "release", "grow-inner-broken"],
                                           "results.jsonl:2"),
    "grow approve damaged pending file": Case(["grow", "approve", "pending-broken"],
                                              "approval_pending.json"),
    "grow approve non-UTF-8 pending file": Case(["grow", "approve", "pending-latin1"],
                                                "is not UTF-8 text"),
    "grow approve pending of the wrong shape": Case(["grow", "approve", "pending-shape"],
                                                    "approval_pending.json"),
    "grow approve nothing pending": Case(["grow", "approve", "adaem-no-pending"],
                                         "has no pending approval"),
    "grow approve unknown id": Case(["grow", "approve", "pending-ok", "--reject", "q9"],
                                    "not pending: q9"),
    # -- train ---------------------------------------------------------------------------------
    "train d2o no config": Case(["train", "d2o"], "--config is required"),
    "train d2o non-UTF-8 config": Case(["train", "d2o", "-c", "train-latin1.yaml"],
                                       "is not UTF-8 text"),
    "train d2o config is a directory": Case(["train", "d2o", "-c", "dir.yaml"],
                                            "is a directory"),
    "train d2o unknown field": Case(["train", "d2o", "-c", "train-unknown.yaml"], "surprise"),
    "train d2o data file missing": Case(["train", "d2o", "-c", "train-missing-data.yaml"],
                                        "missing.jsonl: JSONL file not found"),
    "train honesty no method": Case(["train", "honesty", "-c", "train-missing-data.yaml"],
                                    "data.records"),
    "train honesty bad method": Case(["train", "honesty", "--method", "ppo", "-c",
                                      "train-unknown.yaml"], "--method 'ppo' is not supported"),
    "train honesty malformed config": Case(["train", "honesty", "-c", "malformed.yaml"],
                                           "malformed config file"),
}


def tree(root: Path) -> dict[str, tuple[bool, int, int]]:
    """Every path under ``root`` with (is a directory, size, modification time)."""
    out = {}
    for path in root.rglob("*"):
        info = path.stat()
        out[str(path.relative_to(root))] = (path.is_dir(), info.st_size, info.st_mtime_ns)
    return out


def check_one_line(code: int, stderr: str, message: str) -> None:
    assert "Traceback" not in stderr, stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert code == 2, stderr
    assert len(lines) == 1, lines
    assert lines[0].startswith("error: "), lines[0]
    assert message in lines[0], lines[0]


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input_exit_2_one_line_nothing_written(name, workdir, monkeypatch):
    case = CASES[name]
    monkeypatch.chdir(workdir)
    for key in [k for k in os.environ if k.startswith("VALUEGRAPH_")]:
        monkeypatch.delenv(key)
    before = tree(workdir)
    result = CliRunner().invoke(app, case.args, env=case.env)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"{name}: {type(result.exception).__name__}: {result.exception}"
                             ) from result.exception
    check_one_line(result.exit_code, result.stderr, case.message)
    assert result.stdout == ""
    assert tree(workdir) == before


SUBPROCESS_CASES = ["run non-UTF-8 config", "run env VALUEGRAPH_BUDGET unclosed",
                    "run --run-id ../x", "run denevil non-UTF-8 prompt file",
                    "resume wrong-type config.yaml", "grow --resume broken inner line",
                    "grow approve damaged pending file", "runs missing runs dir"]


@pytest.mark.parametrize("name", SUBPROCESS_CASES)
def test_bad_input_in_a_real_process(name, workdir):
    case = CASES[name]
    env = {k: v for k, v in os.environ.items() if not k.startswith("VALUEGRAPH_")}
    for key, value in case.env.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    before = tree(workdir)
    result = subprocess.run([sys.executable, "-m", "valuegraph.cli", *case.args], cwd=workdir,
                            env=env, capture_output=True, text=True, timeout=120)
    check_one_line(result.returncode, result.stderr, case.message)
    assert result.stdout == ""
    assert tree(workdir) == before
    assert not (workdir.parent / "x").exists()  # --run-id ../x made nothing beside the runs


def test_unreadable_principles_file(workdir, monkeypatch):
    """A principles file the process may not read (chmod 000; as root, whom permissions do not
    stop, the read is made to fail the same way)."""
    monkeypatch.chdir(workdir)
    locked = workdir / "locked.jsonl"
    locked.write_text('{"id": "p1", "principle": "Do not steal.", "foundation": "fairness"}\n')
    locked.chmod(0)
    if os.geteuid() == 0:
        real = Path.read_bytes

        def read_bytes(self: Path) -> bytes:
            if self.name == locked.name:
                raise PermissionError(13, "Permission denied", str(self))
            return real(self)

        monkeypatch.setattr(Path, "read_bytes", read_bytes)
    before = tree(workdir)
    try:
        result = CliRunner().invoke(app, ["run", "denevil", *MOCKS, "--set",
                                          "params.principles=locked.jsonl"])
        check_one_line(result.exit_code, result.stderr,
                       "locked.jsonl: cannot read principles file: Permission denied")
        assert tree(workdir) == before
    finally:
        locked.chmod(0o644)
        locked.unlink()
