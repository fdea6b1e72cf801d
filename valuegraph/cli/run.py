"""``valuegraph run``, ``resume``, ``runs`` and ``export``."""

from __future__ import annotations

import time
from typing import Annotated, Any

import typer
from rich.table import Table

from valuegraph.cli.common import (
    ConfigOpt,
    RunsDirOpt,
    SetOpt,
    check_models,
    execute,
    fail,
    load_config,
    out,
    parse_count,
    runs_dir_of,
)
from valuegraph.config import ConfigError, resolve_config
from valuegraph.tools.files import FileError
from valuegraph.tools.specs import SpecError


def run(
    graph: Annotated[str, typer.Argument(help="Graph to run (see `valuegraph run --help`).")],
    config: ConfigOpt = None,
    set_: SetOpt = None,
    budget: Annotated[str | None, typer.Option(
        help="Most model requests over the whole run ('none': no limit).")] = None,
    run_id: Annotated[str | None, typer.Option(help="Run directory name.")] = None,
    runs_dir: RunsDirOpt = None,
) -> None:
    """Run a graph in a new run directory."""
    from valuegraph.graphs import load_runner
    from valuegraph.tools.rundir import RunDir

    try:
        explicit: dict[str, Any] = {"graph": graph, "run_id": run_id, "runs_dir": runs_dir}
        cfg = load_config(config, set_, explicit)
        if budget is not None:
            cfg = resolve_config({**cfg.model_dump(), "budget": parse_count(
                budget, "--budget", "model requests")}, env={})
        runner = load_runner(cfg.graph)
        check_models(cfg)
        runner.validate(cfg)
        run_dir = RunDir.create(cfg)
    except (ConfigError, SpecError, FileError) as exc:
        raise fail(str(exc)) from None
    raise typer.Exit(execute(runner, cfg, run_dir))


def resume(run_ref: Annotated[str, typer.Argument(metavar="RUN", help="Run id or directory.")],
           runs_dir: RunsDirOpt = None) -> None:
    """Resume a run from its checkpoints; completed work is not redone."""
    from valuegraph.graphs import load_runner
    from valuegraph.tools.rundir import RunDir

    try:
        run_dir = RunDir.open(runs_dir_of(runs_dir), run_ref)
        cfg = run_dir.config()
        run_dir.check_results()
        run_dir.requests_before()
        runner = load_runner(cfg.graph)
        check_models(cfg)
        runner.validate(cfg)
    except (ConfigError, SpecError, FileError) as exc:
        raise fail(str(exc)) from None
    raise typer.Exit(execute(runner, cfg, run_dir))


def list_runs_cmd(runs_dir: RunsDirOpt = None) -> None:
    """List runs with their status."""
    from valuegraph.tools.rundir import list_runs

    try:
        found = list_runs(runs_dir_of(runs_dir))
    except ConfigError as exc:
        raise fail(str(exc)) from None
    table = Table("run", "graph", "state", "updated", "requests", "cache hits")
    for run_id, status in found:
        updated = time.strftime("%Y-%m-%d %H:%M", time.localtime(status.get("updated", 0)))
        table.add_row(run_id, status.get("graph", ""), status.get("state", "?"), updated,
                      str(status.get("requests_total", 0)), str(status.get("cache_hits", 0)))
    out.print(table)
    if not found:
        out.print(f"no runs under {runs_dir_of(runs_dir)}")


def export(
    run_ref: Annotated[str, typer.Argument(metavar="RUN", help="Run id or directory.")],
    fmt: Annotated[str, typer.Option("--format", help="jsonl, parquet, hf or all.")] = "all",
    runs_dir: RunsDirOpt = None,
) -> None:
    """Export a run's records to JSONL, parquet and/or a Hugging Face dataset."""
    from valuegraph.tools.export import FORMATS, export_records
    from valuegraph.tools.rundir import RunDir

    try:
        if fmt not in (*FORMATS, "all"):
            raise ConfigError(f"unknown format {fmt!r}; allowed: {', '.join(FORMATS)}, all")
        run_dir = RunDir.open(runs_dir_of(runs_dir), run_ref)
        records = run_dir.results.read()
    except (ConfigError, FileError) as exc:
        raise fail(str(exc)) from None
    if not records:
        raise fail(f"run {run_ref!r} has no records to export yet")
    formats = list(FORMATS) if fmt == "all" else [fmt]
    paths = export_records(records, run_dir.exports_dir / "items", formats)
    for path in paths:
        out.print(f"{len(records)} records -> {path}", soft_wrap=True)


def register(app: typer.Typer) -> None:
    from valuegraph.graphs import graph_names

    app.command(help=f"Run a graph in a new run directory ({', '.join(graph_names())}).")(run)
    app.command()(resume)
    app.command("runs")(list_runs_cmd)
    app.command()(export)
