"""``valuegraph train``: D²O and honesty alignment from a YAML or TOML run configuration.

Mounted by the main CLI as ``valuegraph train``; also runnable as
``python -m valuegraph.cli.train`` (the form ``accelerate launch -m`` needs). Bad input
prints one line to stderr and exits with status 2 before anything is written.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated, Any

import typer

from valuegraph.config import ConfigError
from valuegraph.tools.files import FileError
from valuegraph.training.run_config import METHODS

logger = logging.getLogger(__name__)

train_app = typer.Typer(
    help="Align a model on TRL: D²O (negatives only) or honesty SFT / DPO / SimPO / ORPO.",
    no_args_is_help=True,
    add_completion=False,
)

ConfigOpt = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="Run configuration (.yaml, .yml or .toml)."),
]
OutputOpt = Annotated[Path | None, typer.Option("--output-dir", "-o", help="Overrides output_dir.")]
DataOnlyOpt = Annotated[
    bool, typer.Option("--data-only", help="Build the D²O records (self-samples) and stop.")
]
MethodOpt = Annotated[str | None, typer.Option("--method", "-m", help="sft, dpo, simpo or orpo.")]


def _fail(message: str) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(2)


def _require_train_extra() -> None:
    try:
        import peft  # noqa: F401  (checked up front for a one-line message)
        import trl  # noqa: F401
    except ImportError as error:
        _fail(f"training needs the train extra ({error}); pip install 'valuegraph[train]'")


def _load(config: Path | None, kind: str, output_dir: Path | None) -> Any:
    from valuegraph.training.run_config import D2ORunConfig, HonestyRunConfig, load_run_config

    if config is None:
        _fail("--config is required: a run configuration file (.yaml, .yml or .toml)")
    model = D2ORunConfig if kind == "d2o" else HonestyRunConfig
    run_config = load_run_config(config, model)
    if output_dir is not None:
        run_config = run_config.model_copy(update={"output_dir": output_dir})
    return run_config


@train_app.command("d2o")
def d2o(
    config: ConfigOpt = None, output_dir: OutputOpt = None, data_only: DataOnlyOpt = False
) -> None:
    """D²O: push the model away from negatives, anchored on its own K samples."""
    _require_train_extra()
    from valuegraph.training.d2o import run

    try:
        plan = run.plan_d2o(_load(config, "d2o", output_dir))
    except (ConfigError, FileError) as error:
        _fail(str(error))
    if data_only:
        if plan.records is not None:
            _fail("--data-only builds records from 'data.negatives'; this config has ready records")
        run.build_d2o_data(plan)
        typer.echo(str(run.records_path(plan.config)))
        return
    typer.echo(str(run.execute_d2o(plan).output_dir))


@train_app.command("honesty")
def honesty(
    method: MethodOpt = None, config: ConfigOpt = None, output_dir: OutputOpt = None
) -> None:
    """Honesty alignment on MoHoBench-style records or `bench honesty` answers (text or
    vision)."""
    if method is not None and method not in METHODS:
        _fail(f"--method {method!r} is not supported; allowed: {', '.join(METHODS)}")
    _require_train_extra()
    from valuegraph.training.honesty import run

    try:
        plan = run.plan_honesty(_load(config, "honesty", output_dir), method)
    except (ConfigError, FileError) as error:
        _fail(str(error))
    try:
        done = run.execute_honesty(plan)
    except ConfigError as error:  # a model the run cannot freeze: refused before writing
        _fail(str(error))
    typer.echo(str(done.output_dir))


def register(app: typer.Typer) -> None:
    app.add_typer(train_app, name="train",
                  help="Train with D2O or honesty SFT/DPO/SimPO/ORPO (needs valuegraph\\[train]).")


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    train_app()
