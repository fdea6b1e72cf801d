"""The ``valuegraph`` command: thin wrappers over the functions Python users call."""

from __future__ import annotations

import asyncio
import gc
import logging
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from valuegraph.config import ConfigError, RunConfig, parse_overrides, resolve_config
from valuegraph.tools.specs import SpecError

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Measure, probe and align the values and honesty of LLMs.")
console = Console(stderr=True)
out = Console()

ConfigOpt = Annotated[Path | None, typer.Option("--config", "-c", help="Run config (YAML/TOML).")]
SetOpt = Annotated[list[str] | None, typer.Option("--set", "-s", help="Override: key=value.")]
RunsDirOpt = Annotated[Path | None, typer.Option("--runs-dir", help="Where runs live.")]


def fail(message: str) -> typer.Exit:
    """Print one line saying what is wrong and return the exit (status 2) to raise."""
    console.print(f"error: {message}", markup=False, highlight=False, soft_wrap=True)
    return typer.Exit(2)


def load_config(config: Path | None, overrides: list[str] | None,
                explicit: dict[str, Any] | None = None) -> RunConfig:
    values = parse_overrides(overrides or [])
    for key, value in (explicit or {}).items():
        if value is not None:
            values[key] = value
    return resolve_config(values, config)


def check_models(config: RunConfig, roles: list[str] | None = None) -> None:
    """Every spec parses and has its API key: checked before anything is written."""
    from valuegraph.tools.specs import missing_api_keys, parse_spec

    for role, spec in config.models.items():
        if roles is not None and role not in roles:
            continue
        parsed = parse_spec(spec, config.api_bases.get(spec))
        missing = missing_api_keys(parsed)
        if missing:
            raise ConfigError(f"model {spec!r} ({role}) needs the environment variable(s) "
                              f"{', '.join(missing)}; set them or choose another provider")


def make_pool(config: RunConfig, cache_dir: Path | None):  # noqa: ANN201 - lazy import
    from valuegraph.tools.pool import ModelPool

    return ModelPool(cache_dir if config.cache else None, api_bases=config.api_bases)


@app.command()
def models(
    config: ConfigOpt = None,
    set_: SetOpt = None,
    model: Annotated[list[str] | None, typer.Option("--model", "-m",
                                                     help="Extra spec to check.")] = None,
    prompt: str = "The capital of France is",
) -> None:
    """List the configured backends and check each: a real generation and a log-likelihood."""
    try:
        cfg = load_config(config, set_)
        check_models(cfg)
        specs = sorted(set(cfg.models.values()) | set(model or []))
        from valuegraph.tools.specs import parse_spec

        for spec in specs:
            parse_spec(spec, cfg.api_bases.get(spec))
    except (ConfigError, SpecError) as exc:
        raise fail(str(exc)) from None
    from valuegraph.cli_models import check_backends

    ok = asyncio.run(check_backends(cfg, specs, prompt, out))
    raise typer.Exit(0 if ok else 1)


@app.command()
def run(
    graph: Annotated[str, typer.Argument(help="Graph to run.")],
    config: ConfigOpt = None,
    set_: SetOpt = None,
    budget: Annotated[str | None, typer.Option(help="Most model calls ('none': no limit).")] = None,
    run_id: Annotated[str | None, typer.Option(help="Run directory name.")] = None,
    runs_dir: RunsDirOpt = None,
) -> None:
    """Run a graph in a new run directory."""
    from valuegraph.graphs import load_runner

    try:
        explicit: dict[str, Any] = {"graph": graph, "run_id": run_id, "runs_dir": runs_dir}
        cfg = load_config(config, set_, explicit)
        if budget is not None:
            cfg = resolve_config({**cfg.model_dump(), "budget": _parse_budget(budget)})
        runner = load_runner(cfg.graph)
        check_models(cfg)
        runner.validate(cfg)
        from valuegraph.tools.rundir import RunDir

        run_dir = RunDir.create(cfg)
    except (ConfigError, SpecError) as exc:
        raise fail(str(exc)) from None
    raise typer.Exit(_execute(runner, cfg, run_dir))


@app.command()
def resume(run_ref: Annotated[str, typer.Argument(metavar="RUN", help="Run id or directory.")],
           runs_dir: RunsDirOpt = None) -> None:
    """Resume a run from its checkpoints; completed work is not redone."""
    from valuegraph.graphs import load_runner
    from valuegraph.tools.rundir import RunDir

    try:
        run_dir = RunDir.open(runs_dir or RunConfig().runs_dir, run_ref)
        cfg = run_dir.config()
        runner = load_runner(cfg.graph)
        check_models(cfg)
    except (ConfigError, SpecError) as exc:
        raise fail(str(exc)) from None
    raise typer.Exit(_execute(runner, cfg, run_dir))


def _execute(runner: Any, cfg: RunConfig, run_dir: Any) -> int:
    from valuegraph.progress import make_progress
    from valuegraph.tools.pool import closing

    handler = run_dir.attach_log()
    pool = make_pool(cfg, run_dir.cache_dir)
    run_dir.set_status("running", graph=cfg.graph, pid=_pid())
    started = time.monotonic()

    # What is alive now (imported packages, the pool) lives as long as the run: moved out of
    # the collector's sight, it is not rescanned by every full collection (about 0.4 s each
    # with litellm and chromadb loaded) during a run that may last days.
    gc.collect()
    gc.freeze()
    try:
        with make_progress(console) as progress:
            summary = asyncio.run(closing(pool, runner.run(cfg, run_dir, pool, progress)))
    except KeyboardInterrupt:
        run_dir.set_status("interrupted", usage=pool.usage.to_json())
        console.print(f"interrupted; resume with: valuegraph resume {run_dir.run_id}")
        return 130
    except Exception as exc:
        logging.getLogger("valuegraph").exception("run failed")
        run_dir.set_status("failed", error=f"{type(exc).__name__}: {exc}",
                           usage=pool.usage.to_json())
        console.print(f"run failed: {type(exc).__name__}: {exc}", markup=False)
        console.print(f"resume with: valuegraph resume {run_dir.run_id}")
        return 1
    finally:
        gc.unfreeze()  # an in-process caller (tests, notebooks) collects them again
        pool.close()
        logging.getLogger("valuegraph").removeHandler(handler)
    elapsed = time.monotonic() - started
    run_dir.set_status("done", summary=summary, usage=pool.usage.to_json(), seconds=elapsed)
    out.print(f"run {run_dir.run_id} done in {elapsed:.1f}s -> {run_dir.root}")
    return 0


def _pid() -> int:
    import os

    return os.getpid()


def _parse_budget(raw: str) -> int | None:
    if raw.lower() == "none":
        return None
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"budget must be a whole number of model calls or 'none', "
                          f"got {raw!r}") from None


@app.command("runs")
def list_runs_cmd(runs_dir: RunsDirOpt = None) -> None:
    """List runs with their status."""
    from valuegraph.tools.rundir import list_runs

    root = runs_dir or RunConfig().runs_dir
    table = Table("run", "graph", "state", "updated", "calls")
    for run_id, status in list_runs(root):
        usage = status.get("usage") or {}
        calls = sum(u.get("calls", 0) for u in usage.values())
        updated = time.strftime("%Y-%m-%d %H:%M", time.localtime(status.get("updated", 0)))
        table.add_row(run_id, status.get("graph", ""), status.get("state", "?"), updated,
                      str(calls))
    out.print(table)


@app.command()
def export(
    run_ref: Annotated[str, typer.Argument(metavar="RUN", help="Run id or directory.")],
    fmt: Annotated[str, typer.Option("--format", help="jsonl, parquet, hf or all.")] = "all",
    runs_dir: RunsDirOpt = None,
) -> None:
    """Export a run's items to JSONL, parquet and/or a Hugging Face dataset."""
    from valuegraph.tools.export import FORMATS, export_records
    from valuegraph.tools.rundir import RunDir

    try:
        if fmt not in (*FORMATS, "all"):
            raise ConfigError(f"unknown format {fmt!r}; allowed: {', '.join(FORMATS)}, all")
        run_dir = RunDir.open(runs_dir or RunConfig().runs_dir, run_ref)
    except ConfigError as exc:
        raise fail(str(exc)) from None
    records = run_dir.results.read()
    formats = list(FORMATS) if fmt == "all" else [fmt]
    paths = export_records(records, run_dir.exports_dir / "items", formats)
    for path in paths:
        out.print(f"{len(records)} records -> {path}")


bench_app = typer.Typer(no_args_is_help=True, help="Benchmark models on a prompt or question set.")
app.add_typer(bench_app, name="bench")

# Modules that add commands: each exposes ``register(app, bench_app)``.
COMMAND_MODULES = (
    "valuegraph.evals.moral_cli",     # valuegraph bench moral
    "valuegraph.evals.values_cli",    # valuegraph bench values
    "valuegraph.graphs.adaem.cli",    # valuegraph grow
)


def _mount_subcommands() -> None:
    """Commands defined next to their code mount here; a missing optional extra leaves the
    training commands out (with a hint) instead of breaking the CLI."""
    import importlib

    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:
                continue
            raise
        module.register(app, bench_app)
    try:
        from valuegraph.training.cli import train_app
    except ImportError as exc:
        missing = str(exc)

        @app.command(name="train")
        def train_missing() -> None:
            """Training needs: pip install 'valuegraph[train]'."""
            raise fail(f"training is unavailable ({missing}); pip install 'valuegraph[train]'")
        return
    app.add_typer(train_app, name="train", help="Train with D2O or honesty SFT/DPO/SimPO/ORPO.")


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    # run.log takes valuegraph's INFO records; the terminal shows warnings and errors only.
    for handler in logging.getLogger().handlers:
        handler.setLevel(logging.WARNING)
    _mount_subcommands()
    try:
        app()
    except (ConfigError, SpecError) as exc:
        console.print(f"error: {exc}", markup=False)
        sys.exit(2)


if __name__ == "__main__":
    main()
