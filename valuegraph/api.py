"""Running graphs and reading their records from Python: what the CLI does, without a terminal.

    outcome = run_graph("denevil", models={"target": "openai/gpt-4o-mini"}, params={"limit": 5})
    outcome.state, outcome.summary["exported"]
    prompts = load_records(outcome.root, kind="moral_prompt")
    resume_run(outcome.root)          # after a crash, a kill or a budget stop
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from valuegraph.config import ConfigError, resolve_config
from valuegraph.graphs import load_runner
from valuegraph.graphs._shared.records import Record, parse_record
from valuegraph.graphs._shared.runner import RunOutcome, execute_run
from valuegraph.tools.rundir import RunDir


def run_graph(graph: str, config: str | Path | None = None, **settings: Any) -> RunOutcome:
    """Run a registered graph in a new run directory and return how it ended.

    Args:
        graph: A registered graph (``valuegraph.graph_names()``).
        config: A run config file (YAML/TOML); ``settings`` override it.
        **settings: Run config fields (``models``, ``params``, ``budget``, ``runs_dir``, ...).

    Raises:
        ConfigError: a bad setting, model or input file, before anything is written.
    """
    cfg = resolve_config({**settings, "graph": graph}, config)
    runner = load_runner(cfg.graph)
    runner.validate(cfg)
    return execute_run(runner, cfg, RunDir.create(cfg))


def resume_run(run: str | Path, runs_dir: str | Path = "runs") -> RunOutcome:
    """Continue a run (by directory or id under ``runs_dir``) from its checkpoints.

    Raises:
        ConfigError: no such run, or its config is unreadable.
        FileError: a broken line inside its results file (named).
    """
    run_dir = RunDir.open(runs_dir, str(run))
    cfg = run_dir.config()
    run_dir.check_results()
    runner = load_runner(cfg.graph)
    runner.validate(cfg)
    return execute_run(runner, cfg, run_dir)


def load_records(run: str | Path, kind: str | None = None, *,
                 typed: bool = False) -> list[dict[str, Any]] | list[Record]:
    """A run's records (of one ``kind``), as dicts or as typed models.

    Raises:
        ConfigError: no run there.
        FileError: a damaged results file (the line is named).
    """
    path = Path(run)
    if not path.is_dir():
        raise ConfigError(f"no run directory {path}")
    run_dir = RunDir(path)
    records = [r for r in run_dir.results if kind is None or r.get("kind") == kind]
    if typed and (run_dir.root / "config.yaml").is_file():
        load_runner(run_dir.config().graph)  # registers the loop's own record kinds
    return [parse_record(r) for r in records] if typed else records
