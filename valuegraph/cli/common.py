"""What every command shares: options, the one-line error, config loading, running a graph."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from valuegraph.config import ConfigError, RunConfig, parse_overrides, resolve_config

console = Console(stderr=True)
out = Console()

ConfigOpt = Annotated[Path | None, typer.Option("--config", "-c", help="Run config (YAML/TOML).")]
SetOpt = Annotated[list[str] | None, typer.Option("--set", "-s", help="Override: key=value.")]
RunsDirOpt = Annotated[Path | None, typer.Option("--runs-dir", help="Where runs live.")]


def fail(message: str) -> typer.Exit:
    """Print one line saying what is wrong and return the exit (status 2) to raise."""
    line = " ".join(str(message).split())
    console.print(f"error: {line}", markup=False, highlight=False, soft_wrap=True)
    return typer.Exit(2)


def load_config(config: Path | None, overrides: list[str] | None,
                explicit: dict[str, Any] | None = None) -> RunConfig:
    values = parse_overrides(overrides or [])
    for key, value in (explicit or {}).items():
        if value is not None:
            values[key] = value
    return resolve_config(values, config)


def runs_dir_of(runs_dir: Path | None) -> Path:
    return runs_dir if runs_dir is not None else resolve_config({}).runs_dir


def parse_count(raw: str | None, name: str, unit: str) -> int | None:
    """``--budget 100`` / ``--budget none`` -> 100 / None.

    Raises:
        ConfigError: not a whole number >= 1 or 'none'.
    """
    if raw is None or raw.strip().lower() == "none":
        return None
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number of {unit} or 'none', got {raw!r}"
                          ) from None
    if value < 1:
        raise ConfigError(f"{name} must be >= 1 {unit} or 'none', got {value}")
    return value


def check_models(config: RunConfig, roles: list[str] | None = None) -> None:
    """Every spec parses and has its API key: checked before anything is written."""
    from valuegraph.tools.specs import missing_api_keys, parse_spec

    served: set[str] = set()
    if config.servers is not None:  # the run starts these servers: their specs need no key
        from valuegraph.tools.servers import load_servers

        served = {server.pool_spec for server in load_servers(config.servers).servers}
    for role, spec in config.models.items():
        if roles is not None and role not in roles:
            continue
        if spec.startswith("classifier/") or spec in served:
            continue
        parsed = parse_spec(spec, config.api_bases.get(spec))
        missing = missing_api_keys(parsed)
        if missing:
            raise ConfigError(f"model {spec!r} ({role}) needs the environment variable(s) "
                              f"{', '.join(missing)}; set them or choose another provider")


def execute(runner: Any, cfg: RunConfig, run_dir: Any) -> int:
    """Run a graph with a progress bar and say how it ended; returns the exit status."""
    from valuegraph.graphs._shared.runner import execute_run
    from valuegraph.tools.progress import make_progress

    try:
        with make_progress(console) as progress:
            outcome = execute_run(runner, cfg, run_dir, progress=progress)
    except ConfigError as exc:
        raise fail(str(exc)) from None
    summary = outcome.summary
    if outcome.state == "done":
        failed = summary.get("failed", 0)
        note = f" ({failed} item(s) failed; `valuegraph resume {outcome.run_id}` retries them)" \
            if failed else ""
        out.print(f"run {outcome.run_id} done in {outcome.seconds:.1f}s -> {outcome.root}{note}",
                  soft_wrap=True)
    elif outcome.state == "incomplete":
        console.print(f"run {outcome.run_id} stopped before the end "
                      f"({summary.get('exit_reason') or 'budget'}); continue with: "
                      f"valuegraph resume {outcome.run_id}", markup=False, soft_wrap=True)
    elif outcome.state == "interrupted":
        console.print(f"interrupted; resume with: valuegraph resume {outcome.run_id}",
                      markup=False)
    else:
        reason = outcome.error or f"every item failed ({summary.get('failed', 0)})"
        console.print(f"run failed: {reason}", markup=False, soft_wrap=True)
        console.print(f"resume with: valuegraph resume {outcome.run_id}", markup=False)
    return outcome.exit_code
