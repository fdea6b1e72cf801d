"""``valuegraph align``: probe -> negatives -> D²O -> re-probe -> paired comparison, one run
directory, resumable (``--resume RUN``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from valuegraph.cli.common import (
    ConfigOpt,
    RunsDirOpt,
    SetOpt,
    console,
    fail,
    out,
    runs_dir_of,
)
from valuegraph.config import ConfigError, parse_overrides
from valuegraph.tools.files import FileError
from valuegraph.tools.specs import SpecError


def align(
    config: ConfigOpt = None,
    set_: SetOpt = None,
    run_id: Annotated[str | None, typer.Option(help="Run directory name.")] = None,
    runs_dir: RunsDirOpt = None,
    resume: Annotated[str | None, typer.Option(
        metavar="RUN", help="Continue a run (id or directory) with its stored config (only "
                            "--set budget=N may change); finished stages are skipped.")] = None,
) -> None:
    """The closed loop: DeNEVIL probes the target (hf/<dir>), its violating completions train
    it with D²O, base and trained model are re-probed on held-out prompts and compared paired.

    Config keys (YAML/TOML, or --set): models.{attacker,judge,target}, api_bases, seed, cache,
    concurrency, probe.<DeNEVIL param>, heldout, threshold, train.<D²O setting>,
    reprobe.{samples,max_tokens,temperature,top_p,judge_method,judge_votes,...}.
    """
    from valuegraph.pipelines.align import AlignRun, open_run, plan_align
    from valuegraph.pipelines.align_config import resolve_align_config

    try:
        if resume is not None:
            if config is not None or run_id is not None:
                raise ConfigError("--resume continues a run with its stored config; drop "
                                  "--config and --run-id")
            run = AlignRun(open_run(resume, runs_dir_of(runs_dir), parse_overrides(set_ or [])))
        else:
            explicit: dict[str, Any] = parse_overrides(set_ or [])
            if run_id is not None:
                explicit["run_id"] = run_id
            if runs_dir is not None:
                explicit["runs_dir"] = str(runs_dir)
            run = AlignRun.create(plan_align(resolve_align_config(explicit, config)))
    except (ConfigError, SpecError, FileError) as exc:
        raise fail(str(exc)) from None
    _run(run)


def _run(run: Any) -> None:
    from valuegraph.pipelines.align import EXIT_CODES
    from valuegraph.tools.progress import make_progress

    out.print(f"align run {run.root}", soft_wrap=True)
    try:
        with make_progress(console) as progress:
            run.progress = progress
            run.echo = lambda line: console.print(line, markup=False, highlight=False,
                                                  soft_wrap=True)
            state = run.run()
    except ConfigError as exc:
        raise fail(str(exc)) from None
    if state == "done":
        from valuegraph.evals.moral_paired import paired_terminal_table

        out.print(paired_terminal_table(run.paired or run.paired_rows()))
        for name in ("moral_paired.csv", "report.html", "train", "reprobe"):
            out.print(f"{name}: {Path(run.root) / name}", soft_wrap=True)
    else:
        console.print(f"align {state}; continue with: valuegraph align --resume {run.root}",
                      markup=False, soft_wrap=True)
    raise typer.Exit(EXIT_CODES[state])


def register(app: typer.Typer) -> None:
    app.command()(align)
