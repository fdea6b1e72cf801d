"""The CLI's bad-input contract: one line on stderr, exit status 2, nothing written."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest


def run_cli(*args: str, cwd, env_drop: tuple[str, ...] = (), timeout: int = 120):
    env = {k: v for k, v in os.environ.items() if k not in env_drop}
    return subprocess.run([sys.executable, "-m", "valuegraph.cli", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout)


def files_under(path) -> list[str]:
    return sorted(str(p.relative_to(path)) for p in path.rglob("*"))


@pytest.fixture
def workdir(tmp_path):
    (tmp_path / "bad.yaml").write_text("budget: [1,\n")
    (tmp_path / "weird.yaml").write_text("surprise: 1\n")
    return tmp_path


CASES = {
    "unknown graph": (["run", "nosuch"],
                      "unknown graph 'nosuch'; available graphs: adaem, denevil"),
    "malformed config": (["run", "denevil", "-c", "bad.yaml"], "malformed config file bad.yaml"),
    "unknown setting": (["run", "denevil", "-c", "weird.yaml"], "unknown setting 'surprise'"),
    "unreadable file": (["run", "denevil", "-c", "missing.yaml"],
                        "config file missing.yaml not found"),
    "negative budget": (["run", "denevil", "--budget", "-5"], "budget must be >= 1"),
    "budget not a number": (["run", "denevil", "--budget", "lots"], "budget must be a whole"),
    "negative budget via --set": (["run", "denevil", "--set", "budget=-1"], "budget must be >= 1"),
    "unknown provider": (["models", "--set", "models.target=nosuch/model"],
                         "unknown provider 'nosuch'"),
    "missing api key": (["models", "--set", "models.judge=openai/gpt-4o-mini"],
                        "needs the environment variable(s) OPENAI_API_KEY"),
    "unknown role": (["models", "--set", "models.critic=local"], "unknown role(s) ['critic']"),
    "resume unknown run": (["resume", "nope"], "no run 'nope'"),
    "export bad format": (["export", "nope", "--format", "xml"], "unknown format 'xml'"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_one_line_exit_2_nothing_written(case, workdir):
    args, message = CASES[case]
    before = files_under(workdir)
    result = run_cli(*args, "--runs-dir", str(workdir / "runs"), cwd=workdir,
                     env_drop=("OPENAI_API_KEY",)) if args[0] in ("run", "resume", "export") \
        else run_cli(*args, cwd=workdir, env_drop=("OPENAI_API_KEY",))
    assert result.returncode == 2, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert message in lines[0]
    assert files_under(workdir) == before


def test_runs_lists_nothing_then_a_created_run(tmp_path):
    from valuegraph.config import resolve_config
    from valuegraph.tools.rundir import RunDir

    empty = run_cli("runs", "--runs-dir", str(tmp_path), cwd=tmp_path)
    assert empty.returncode == 0 and "demo-run" not in empty.stdout
    run = RunDir.create(resolve_config({"graph": "denevil", "runs_dir": tmp_path,
                                        "run_id": "demo-run"}, None, {}))
    run.set_status("done", requests_total=7, cache_hits=31)
    listed = run_cli("runs", "--runs-dir", str(tmp_path), cwd=tmp_path)
    row = next(line for line in listed.stdout.splitlines() if "demo-run" in line)
    cells = [c.strip() for c in row.strip("│ ").split("│")]
    assert cells[1:3] == ["denevil", "done"] and cells[4:6] == ["7", "31"]


def test_export_writes_three_formats(tmp_path):
    from valuegraph.config import resolve_config
    from valuegraph.tools.rundir import RunDir

    run = RunDir.create(resolve_config({"graph": "denevil", "runs_dir": tmp_path,
                                        "run_id": "r"}, None, {}))
    run.results.append({"id": "a", "prompt": "p1"})
    run.results.append({"id": "b", "prompt": "p2"})
    result = run_cli("export", "r", "--runs-dir", str(tmp_path), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("2 records") == 3
    exported = sorted(p.name for p in (run.root / "exports").iterdir())
    assert exported == ["items.jsonl", "items.parquet", "items_hf"]


@pytest.mark.slow
def test_models_checks_the_embedded_default(tmp_path):
    result = run_cli("models", cwd=tmp_path, timeout=300)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("local (attacker, target, judge, optimizer)")
    assert "paris" in lines[1].split("->")[1].lower()
    paris = float(lines[2].split("Paris=")[1].split()[0])
    berlin = float(lines[2].split("Berlin=")[1].split()[0])
    assert paris > berlin


def test_execute_freezes_startup_objects_for_the_run_and_closes_the_pool_on_its_loop(tmp_path):
    import asyncio
    import gc

    from valuegraph.config import resolve_config
    from valuegraph.graphs._shared.runner import execute_run
    from valuegraph.tools.rundir import RunDir

    seen = {}

    class Runner:
        async def run(self, env):
            seen["frozen"] = gc.get_freeze_count()
            seen["loop"] = asyncio.get_running_loop()

            async def aclose():  # what closing() awaits, on the run's own loop
                seen["closed_on"] = asyncio.get_running_loop()

            env.pool.aclose = aclose
            return {"state": "done", "ok": 1}

    run = RunDir.create(resolve_config({"graph": "denevil", "runs_dir": tmp_path,
                                        "run_id": "r"}, None, {}))
    outcome = execute_run(Runner(), run.config(), run)
    assert (outcome.state, outcome.exit_code, outcome.summary) == ("done", 0,
                                                                   {"state": "done", "ok": 1})
    assert run.status()["state"] == "done"
    assert seen["frozen"] > 1000  # the imported packages, out of the collector's sight
    assert seen["closed_on"] is seen["loop"]
    assert gc.get_freeze_count() == 0  # thawed for an in-process caller
