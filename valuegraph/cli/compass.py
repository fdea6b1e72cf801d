"""``valuegraph compass``: the Value Compass leaderboard of many models on four value systems.

    valuegraph compass boards/main -m local -m openai/gpt-4o-mini \\
        --release runs/grow-1/releases/v1 --items mft=runs/denevil-1 \\
        --items risk=risk.jsonl --items fulva=fulva.csv --judge openai/gpt-4o --person me.yaml

Run it again with another ``-m`` or ``--release`` and only the new (model, item) pairs are
measured; the leaderboard (CSV, JSON, the platform's files, HTML report) is rewritten from
every stored answer.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from valuegraph.cli.common import console, fail, out, parse_count


def _pairs(values: list[str] | None, flag: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for pair in values or []:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise ValueError(f"{flag} expects NAME=VALUE, got {pair!r}")
        found[key.strip()] = value.strip()
    return found


def _check_specs(specs: list[str], api_bases: dict[str, str]) -> None:
    """Every model spec parses and has its API key (classifier judges: their directory)."""
    from valuegraph.agents.classifier_judge import CLASSIFIER_PREFIX
    from valuegraph.config import ConfigError
    from valuegraph.tools.specs import missing_api_keys, parse_spec

    for spec in dict.fromkeys(specs):
        if spec.startswith(CLASSIFIER_PREFIX):
            if not (Path(spec.removeprefix(CLASSIFIER_PREFIX)) / "config.json").is_file():
                raise ConfigError(f"classifier judge directory of {spec!r} holds no model "
                                  "(config.json)")
            continue
        missing = missing_api_keys(parse_spec(spec, api_bases.get(spec)))
        if missing:
            raise ConfigError(f"model {spec!r} needs the environment variable(s) "
                              f"{', '.join(missing)}")


def compass(
    board: Annotated[Path, typer.Argument(help="Board directory: new, or one to add to.")],
    model: Annotated[list[str] | None, typer.Option(
        "--model", "-m", help="Model to evaluate (repeat); added to the board's models.")] = None,
    release: Annotated[list[Path] | None, typer.Option(
        help="AdAEM release directory, growth run (all releases) or questions JSONL: Schwartz "
             "items (repeat).")] = None,
    items: Annotated[list[str] | None, typer.Option(
        help="SYSTEM=PATH item file: mft (DeNEVIL run or MoralPrompt JSONL/CSV), risk "
             "(prompt, domain), fulva (prompt, dimension), schwartz (repeat).")] = None,
    person: Annotated[list[Path] | None, typer.Option(
        help="A person's value profile (YAML/JSON) to align models with (repeat).")] = None,
    culture: Annotated[list[str] | None, typer.Option(
        help="Culture to align with (repeat; default every shipped one: FR UK US CN SG ID JP "
             "RU PAN).")] = None,
    judge: Annotated[str | None, typer.Option(help="Judge model (default local).")] = None,
    violation_judge: Annotated[str | None, typer.Option(
        help="MFT violation judge: LLM spec or classifier/<dir> (default: --judge).")] = None,
    judge_mode: Annotated[str | None, typer.Option(
        help="Schwartz labels: per_value (AdAEM) or joint.")] = None,
    judge_method: Annotated[str | None, typer.Option(
        help="P(yes) from: auto, logprobs, loglik or vote.")] = None,
    samples: Annotated[int | None, typer.Option(
        "--samples", "-k", help="MFT continuations per story (default 1).")] = None,
    threshold: Annotated[float | None, typer.Option(
        help="tau: a judgement is positive when p > tau (default 0.5).")] = None,
    temperature: Annotated[float | None, typer.Option(
        help="Sampling temperature of the answers (default 0).")] = None,
    max_tokens: Annotated[int | None, typer.Option(
        help="Token limit of an answer (default 400).")] = None,
    seed: Annotated[int | None, typer.Option(help="Base seed of every request.")] = None,
    prompt: Annotated[list[str] | None, typer.Option(
        help="NAME=TEXT_OR_PATH template override (repeat).")] = None,
    concurrency: Annotated[int, typer.Option(help="(model, item) pairs in flight.")] = 16,
    resamples: Annotated[int, typer.Option(help="Bootstrap resamples (95% intervals).")] = 1000,
    budget: Annotated[str | None, typer.Option(
        help="Most requests to send this run ('none': no limit).")] = None,
    api_base: Annotated[list[str] | None, typer.Option(
        help="spec=url of an OpenAI-compatible server (repeat).")] = None,
) -> None:
    """Value Compass: models x four value systems, into a leaderboard and a report.

    Schwartz values (AdAEM releases), moral foundations (DeNEVIL stories), safety and
    LLM-specific values (item files); culture and person alignment; CSV, JSON, the platform's
    files and an HTML report. Re-running a board measures only new models and items."""
    from valuegraph.config import ConfigError
    from valuegraph.evals.compass.board import open_board
    from valuegraph.evals.compass.items import SourceError, parse_source_arg
    from valuegraph.tools.files import FileError
    from valuegraph.tools.specs import SpecError
    from valuegraph.tools.templates import TemplateError
    from valuegraph.values.pluralistic import ProfileError

    try:
        bases = _pairs(api_base, "--api-base")
        overrides = _pairs(prompt, "--prompt") if prompt else None
        limit = parse_count(budget, "--budget", "requests")
        sources = [("schwartz", p) for p in release or []]
        sources += [parse_source_arg(text) for text in items or []]
        if resamples < 0:
            raise ConfigError(f"--resamples must be >= 0, got {resamples}")
        settings: dict[str, Any] = {
            "judge": judge, "violation_judge": violation_judge, "judge_mode": judge_mode,
            "judge_method": judge_method, "samples": samples, "threshold": threshold,
            "temperature": temperature, "max_tokens": max_tokens, "seed": seed,
            "prompts": overrides, "concurrency": concurrency, "n_resamples": resamples}
        opened = open_board(board, models=model or [], sources=sources, persons=person or [],
                            cultures=culture, settings=settings, api_bases=bases)
        s = opened.settings
        _check_specs([*opened.spec.models, s.judge, s.mft_judge], opened.spec.api_bases)
    except (ConfigError, SourceError, ProfileError, FileError, SpecError, TemplateError,
            ValueError) as exc:
        raise fail(str(exc)) from None
    _run(opened, opened.spec.api_bases, limit)


def _run(opened: Any, bases: dict[str, str], limit: int | None) -> None:
    from rich.table import Table

    from valuegraph.config import ConfigError
    from valuegraph.evals.compass.run import run_compass
    from valuegraph.tools.files import FileError
    from valuegraph.tools.progress import make_progress

    try:
        with make_progress(console) as progress:
            outcome = run_compass(opened, api_bases=bases, budget=limit, progress=progress)
    except (ConfigError, FileError) as exc:
        raise fail(str(exc)) from None
    table = Table("system", "model", "score [95% CI]", "rank", "items",
                  title="Value Compass (0-100)")
    for row in outcome.leaderboard.rows:
        if row.release == "all" and row.dimension == "mean":
            shown = "–" if row.score != row.score else \
                f"{row.score:.1f} [{row.low:.1f}, {row.high:.1f}]"
            table.add_row(row.system, row.model, shown, str(row.rank or "–"), str(row.n_items))
    out.print(table)
    counts = outcome.counts
    out.print(f"measured {counts['measured']} pair(s), reused {counts['reused']}, "
              f"requests {counts['requests']}, cache hits {counts['cache_hits']}")
    for name in ("csv", "json", "alignment", "report"):
        out.print(f"{name}: {outcome.paths[name]}", soft_wrap=True)
    if outcome.state != "done":
        console.print(f"{outcome.state}: {counts['failed']} pair(s) failed, "
                      f"{counts['skipped_budget']} left for the budget; run the same command "
                      "again to continue", markup=False, soft_wrap=True)
        for error in counts["errors"]:
            console.print(f"  {error}", markup=False, soft_wrap=True)
    if outcome.exit_code:
        raise typer.Exit(outcome.exit_code)


def register(app: typer.Typer) -> None:
    app.command()(compass)
