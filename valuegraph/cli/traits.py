"""``valuegraph bench traits``: a model with and without IROTE reflections, on held-out items and
a downstream task, against the baselines that need no training."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from valuegraph.cli.common import ConfigOpt, SetOpt, console, fail, load_config, out
from valuegraph.config import ConfigError
from valuegraph.tools.files import FileError
from valuegraph.tools.specs import SpecError


def _turns(raw: str) -> tuple[int, ...]:
    try:
        return tuple(int(t) for t in raw.split(",") if t.strip())
    except ValueError:
        raise ConfigError(f"--turns expects whole numbers separated by commas, got {raw!r}"
                          ) from None


def traits_cmd(
    reflections: Annotated[Path, typer.Argument(
        help="An IROTE run directory, or a JSONL of its records or of rows theory, dimension, "
             "lines.")],
    model: Annotated[str | None, typer.Option(
        "--model", "-m", help="Target model (default: the reflections' target, else "
                              "models.target).")] = None,
    judge: Annotated[str | None, typer.Option(
        help="Judge of the downstream responses (default: models.judge).")] = None,
    items: Annotated[Path | None, typer.Option(
        help="Item file (JSONL/CSV); its test split is used (default: the shipped "
             "SVS-/MFQ-2-/BFI-2-style forms).")] = None,
    tasks: Annotated[Path | None, typer.Option(
        help="Downstream prompts (JSONL/CSV: theory, prompt; default: the shipped ones).")
    ] = None,
    conditions: Annotated[str, typer.Option(
        help="Conditions to compare, in order: raw, persona, irote.")] = "raw,persona,irote",
    method: Annotated[str, typer.Option(
        help="Item answers: auto (loglik where the backend scores), loglik or generate.")
    ] = "auto",
    judge_method: Annotated[str, typer.Option(
        help="Judge: auto (logprobs, else loglik, else vote), logprobs, loglik or vote.")
    ] = "auto",
    judge_votes: Annotated[int, typer.Option(help="Samples per vote.")] = 5,
    turns: Annotated[str, typer.Option(
        help="Distractor turns before each item, comma-separated (item score: their mean).")
    ] = "0",
    max_tokens: Annotated[int, typer.Option(help="Length limit of a downstream response.")
    ] = 200,
    concurrency: Annotated[int, typer.Option(help="Requests in flight.")] = 16,
    out_dir: Annotated[Path | None, typer.Option(
        "--out", help="Output directory (default: <runs_dir>/bench-traits-<time>); rerunning "
                      "into it reuses its completion cache.")] = None,
    config: ConfigOpt = None,
    set_: SetOpt = None,
) -> None:
    """Held-out and downstream trait scores with paired statistics: table, CSV, HTML."""
    from valuegraph.cli.bench import _check_specs
    from valuegraph.evals.traits_bench import (
        TraitsBenchSettings,
        bench_and_report,
        check_coverage,
        load_reflections,
    )
    from valuegraph.evals.traits_report import terminal_table
    from valuegraph.values.trait_items import load_trait_items, load_trait_tasks

    try:
        cfg = load_config(config, set_)
        settings = TraitsBenchSettings(
            conditions=tuple(c.strip() for c in conditions.split(",") if c.strip()),
            method=method, judge_method=judge_method, judge_votes=judge_votes,
            distractor_turns=_turns(turns), task_max_tokens=max_tokens,
            concurrency=concurrency, seed=cfg.seed)
        found = load_reflections(reflections)
        targets = {r.target for r in found if r.target}
        target = model or (targets.pop() if len(targets) == 1 else cfg.models["target"])
        judge_spec = judge or cfg.models["judge"]
        _check_specs([target, judge_spec], cfg)
        item_set, task_set = load_trait_items(items), load_trait_tasks(tasks)
        check_coverage(found, item_set, task_set)
        if out_dir is not None and out_dir.exists() and not out_dir.is_dir():
            raise ConfigError(f"--out {out_dir} is a file, not a directory")
    except (ConfigError, SpecError, FileError, ValueError) as exc:
        raise fail(str(exc)) from None
    from valuegraph.tools.progress import make_progress

    target_dir = out_dir or Path(cfg.runs_dir) / f"bench-traits-{time.strftime('%Y%m%d-%H%M%S')}"
    with make_progress(console) as progress:
        result, csv_path, html_path = bench_and_report(
            found, item_set, task_set, target, judge_spec, cfg, target_dir, settings, progress)
    out.print(terminal_table(result))
    out.print(f"scores: {target_dir / 'scores.jsonl'}", soft_wrap=True)
    out.print(f"csv: {csv_path}", soft_wrap=True)
    out.print(f"report: {html_path}", soft_wrap=True)


def register(app: typer.Typer) -> None:
    from valuegraph.cli.bench import bench_app

    bench_app.command("traits")(traits_cmd)
