"""``valuegraph grow``: autonomous AdAEM benchmark growth, releases and approvals.

    valuegraph grow -e hosted_vllm/llama -e hosted_vllm/qwen --judge openai/gpt-4o-mini \\
        --steps 1500 --release-every 500 --hours 48
    valuegraph grow --steps none               # forever (until --budget, --hours or Ctrl-C)
    valuegraph grow --resume RUN               # continue after a crash, a kill or --hours
    valuegraph grow release RUN                # write the next versioned release now
    valuegraph grow approve RUN --reject ID    # answer a pending approval (--approval runs)
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

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
from valuegraph.config import ConfigError, RunConfig, validate_config
from valuegraph.tools.files import FileError
from valuegraph.tools.specs import SpecError

grow_app = typer.Typer(add_completion=False, pretty_exceptions_enable=False,
                       help="Grow an AdAEM value benchmark autonomously (UCB bandit over topics).")


def _open_adaem(run_ref: str, runs_dir: Path | None) -> tuple[Any, RunConfig]:
    from valuegraph.tools.rundir import RunDir

    run_dir = RunDir.open(runs_dir_of(runs_dir), run_ref)
    cfg = run_dir.config()
    if cfg.graph != "adaem":
        raise ConfigError(f"run {run_ref!r} is a {cfg.graph!r} run, not an adaem run")
    return run_dir, cfg


@grow_app.callback(invoke_without_command=True)
def grow(
    ctx: typer.Context,
    config: ConfigOpt = None,
    set_: SetOpt = None,
    steps: Annotated[str | None, typer.Option(
        help="B: bandit steps (paper: 1500); 'none' grows until another bound.")] = None,
    budget: Annotated[str | None, typer.Option(
        help="Most model requests over the whole run ('none': no limit).")] = None,
    hours: Annotated[float | None, typer.Option(help="Stop starting steps after this long.")
                     ] = None,
    explorer: Annotated[list[str] | None, typer.Option(
        "--explorer", "-e", help="P1 model (repeat): writes questions, estimates S.")] = None,
    respondent: Annotated[list[str] | None, typer.Option(
        "--respondent", "-r", help="Extra P2 model (repeat) for the final S.")] = None,
    judge: Annotated[str | None, typer.Option(help="Value judge model.")] = None,
    optimizer: Annotated[str | None, typer.Option(help="Reflection/refinement model.")] = None,
    safety_judge: Annotated[str | None, typer.Option(help="Safety filter model.")] = None,
    seeds: Annotated[Path | None, typer.Option(
        help="Seed topics: JSONL, or a Touché23-ValueEval .tsv.")] = None,
    theory: Annotated[str | None, typer.Option(help="schwartz or mft.")] = None,
    release_every: Annotated[int | None, typer.Option(
        help="Write a release every N kept questions.")] = None,
    approval: Annotated[bool | None, typer.Option(
        "--approval/--no-approval", help="Ask a human to approve new questions.")] = None,
    run_id: Annotated[str | None, typer.Option(help="Run directory name.")] = None,
    runs_dir: RunsDirOpt = None,
    resume: Annotated[str | None, typer.Option(
        help="Continue this run (id or directory); with --budget, under a new budget.")] = None,
) -> None:
    """Grow a benchmark until --steps, --budget or --hours; checkpoints every step."""
    if ctx.invoked_subcommand is not None:
        return
    from valuegraph.graphs import load_runner
    from valuegraph.tools.rundir import RunDir

    try:
        runner = load_runner("adaem")
        if resume is not None:
            given = [name for name, value in (
                ("--config", config), ("--set", set_), ("--steps", steps), ("--hours", hours),
                ("--explorer", explorer), ("--respondent", respondent), ("--judge", judge),
                ("--optimizer", optimizer), ("--safety-judge", safety_judge),
                ("--theory", theory), ("--release-every", release_every),
                ("--approval", approval), ("--seeds", seeds), ("--run-id", run_id))
                if value not in (None, [])]
            if given:
                raise ConfigError(f"--resume continues a run with its stored config; only "
                                  f"--budget may change, not {given[0]}")
            run_dir, cfg = _open_adaem(resume, runs_dir)
            if budget is not None:  # a run paused by its budget goes on with a new one
                cfg = cfg.model_copy(update={"budget": parse_count(budget, "--budget",
                                                                   "model requests")})
            run_dir.check_results()
            run_dir.requests_before()
            check_models(cfg)
            runner.validate(cfg)
            if budget is not None:
                run_dir.set_budget(cfg.budget)
        else:
            params: dict[str, Any] = {}
            if steps is not None:
                params["steps"] = parse_count(steps, "--steps", "bandit steps")
            for key, value in (("explorers", explorer), ("respondents", respondent),
                               ("safety_judge", safety_judge), ("theory", theory),
                               ("release_every", release_every), ("max_hours", hours),
                               ("approval", approval),
                               ("seeds", str(seeds) if seeds else None)):
                if value is not None:
                    params[key] = list(value) if isinstance(value, list) else value
            models = {k: v for k, v in (("judge", judge), ("optimizer", optimizer),
                                        ("attacker", explorer[0] if explorer else None)) if v}
            explicit: dict[str, Any] = {"graph": "adaem", "run_id": run_id,
                                        "runs_dir": runs_dir}
            cfg = load_config(config, set_, explicit)
            update: dict[str, Any] = {"params": {**cfg.params, **params},
                                      "models": {**cfg.models, **models}}
            if budget is not None:
                update["budget"] = parse_count(budget, "--budget", "model requests")
            cfg = validate_config({**cfg.model_dump(), **update})
            check_models(cfg)
            runner.validate(cfg)
            run_dir = RunDir.create(cfg)
    except (ConfigError, SpecError, FileError) as exc:
        raise fail(str(exc)) from None
    raise typer.Exit(execute(runner, cfg, run_dir))


@grow_app.command("release")
def release_cmd(
    run_ref: Annotated[str, typer.Argument(metavar="RUN", help="Run id or directory.")],
    against: Annotated[list[Path] | None, typer.Option(
        help="Other releases to deduplicate against (repeat).")] = None,
    min_score: Annotated[float | None, typer.Option(help="Leave out questions below this S.")
                         ] = None,
    runs_dir: RunsDirOpt = None,
) -> None:
    """Write the next versioned release of a run (safe beside a live run)."""
    from valuegraph.graphs.adaem.release import ReleaseError, write_release
    from valuegraph.graphs.adaem.runner import RUNNER, release_info

    try:
        run_dir, cfg = _open_adaem(run_ref, runs_dir)
        run_dir.check_results()
        missing = [str(p) for p in against or [] if not p.exists()]
        if missing:
            raise ConfigError(f"--against path(s) not found: {', '.join(missing)}")
        _, ctx = RUNNER.settings(cfg)
    except (ConfigError, FileError) as exc:
        raise fail(str(exc)) from None
    import numpy as np

    from valuegraph.tools.embeddings import MiniLMEmbedding

    embedding = MiniLMEmbedding()
    info = release_info(run_dir.run_id, ctx)
    try:
        made = write_release(run_dir.root, lambda texts: np.asarray(embedding(list(texts))),
                             against=list(against or []), min_score=min_score,
                             epsilon=ctx.epsilon, neighbours=ctx.dedup_neighbours,
                             near_identical=ctx.near_identical, info=info)
    except (ReleaseError, FileError) as exc:
        raise fail(str(exc)) from None
    if made is None:
        out.print("nothing new to release")
        return
    m = made.manifest
    out.print(f"{made.version}: {m['count']} questions, mean S {m['mean_S']:.2f}, "
              f"Self-BLEU {m['self_bleu']:.2f}, distinct-2 {m['distinct_2']:.3f}, "
              f"similarity {m['mean_similarity']:.3f} -> {made.path}")


def pending_ids(path: Path) -> list[str]:
    """The question ids of a pending approval file (written by the growth run).

    Raises:
        FileError: unreadable, not JSON, or not a list of ``{"questions": [{"id": ...}]}``.
    """
    from valuegraph.tools.files import read_text

    try:
        data = json.loads(read_text(path, "approval file"))
    except json.JSONDecodeError as exc:
        raise FileError(path, f"damaged approval file, not JSON ({exc.msg}); resume the run "
                        "to write it again") from None
    try:
        ids = [str(q["id"]) for item in data for q in item["questions"]]
    except (TypeError, KeyError):
        raise FileError(path, "damaged approval file: expected a list of "
                        '{"questions": [{"id": ...}, ...]}; resume the run to write it again'
                        ) from None
    return ids


@grow_app.command("approve")
def approve_cmd(
    run_ref: Annotated[str, typer.Argument(metavar="RUN", help="Run id or directory.")],
    reject: Annotated[list[str] | None, typer.Option(help="Question id to reject (repeat).")
                      ] = None,
    reject_all: Annotated[bool, typer.Option("--reject-all", help="Reject every pending one.")
                          ] = False,
    runs_dir: RunsDirOpt = None,
) -> None:
    """Answer a pending approval: every pending question is approved unless rejected."""
    from valuegraph.graphs.adaem.runner import APPROVAL_DECISION, APPROVAL_PENDING
    from valuegraph.tools.files import write_atomic

    try:
        run_dir, _ = _open_adaem(run_ref, runs_dir)
        pending_path = run_dir.root / APPROVAL_PENDING
        if not pending_path.exists():
            raise ConfigError(f"run {run_ref!r} has no pending approval")
        pending = pending_ids(pending_path)
        unknown = sorted(set(reject or []) - set(pending))
        if unknown:
            raise ConfigError(f"not pending: {', '.join(unknown)}; pending: {', '.join(pending)}")
    except (ConfigError, FileError) as exc:
        raise fail(str(exc)) from None
    rejected = pending if reject_all else list(reject or [])
    write_atomic(run_dir.root / APPROVAL_DECISION, json.dumps({"reject": rejected}))
    out.print(f"approved {len(pending) - len(rejected)}, rejected {len(rejected)}")


def register(app: typer.Typer) -> None:
    app.add_typer(grow_app, name="grow")
