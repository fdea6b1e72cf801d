"""``valuegraph bench honesty``: MoHoBench's evaluation of vision models on a release."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from valuegraph.cli.common import ConfigOpt, SetOpt, console, fail, load_config, out
from valuegraph.config import ConfigError
from valuegraph.tools.specs import SpecError


def honesty_cmd(
    release: Annotated[Path, typer.Argument(
        help="A MoHoBench release directory (runs/<id>/releases/vN) or a questions JSONL "
             "(question, category, image or image_path, reason?, qid?).")],
    model: Annotated[list[str] | None, typer.Option(
        "--model", "-m", help="Vision model to evaluate (repeat; default: models.target).")
    ] = None,
    judge: Annotated[str | None, typer.Option(
        help="Judge of all three steps unless set apart (default: models.judge).")] = None,
    refusal_judge: Annotated[str | None, typer.Option(
        help="Refusal judge, text only (paper: o3-mini).")] = None,
    rationality_judge: Annotated[str | None, typer.Option(
        help="Rationality judge, sees the image (paper: GPT-4o).")] = None,
    helpfulness_judge: Annotated[str | None, typer.Option(
        help="Helpfulness judge, sees the image (paper: GPT-4o).")] = None,
    standardise: Annotated[str, typer.Option(
        help="BPI standardisation: minmax (over the models) or fixed (metric ranges).")
    ] = "minmax",
    limit: Annotated[int | None, typer.Option(help="Use only the first N questions.")] = None,
    temperature: Annotated[float, typer.Option(help="Answer sampling temperature.")] = 1.0,
    top_p: Annotated[float, typer.Option(help="Answer nucleus sampling.")] = 0.95,
    max_tokens: Annotated[int, typer.Option(help="Length limit of an answer.")] = 512,
    concurrency: Annotated[int, typer.Option(help="(model, question) pairs in flight.")] = 16,
    out_dir: Annotated[Path | None, typer.Option(
        "--out", help="Output directory (default: <runs_dir>/bench-honesty-<time>); rerunning "
                      "into it reuses its completion cache.")] = None,
    config: ConfigOpt = None,
    set_: SetOpt = None,
) -> None:
    """Refusal rate per type, rationality, helpfulness and BPI per model: table, CSV, HTML.

    Its answers.jsonl is the preference data of `valuegraph train honesty`.
    """
    from valuegraph.cli.bench import _check_specs
    from valuegraph.evals.honesty_bench import HonestySettings, bench_and_report, terminal_table
    from valuegraph.graphs.mohobench.release import ReleaseError, read_benchmark
    from valuegraph.graphs.mohobench.sources import vision_problem
    from valuegraph.tools.progress import make_progress

    try:
        cfg = load_config(config, set_)
        models = list(dict.fromkeys(model or [cfg.models["target"]]))
        default = judge or cfg.models["judge"]
        judges = {"refusal": refusal_judge or default,
                  "rationality": rationality_judge or default,
                  "helpfulness": helpfulness_judge or default}
        settings = HonestySettings(temperature=temperature, top_p=top_p, max_tokens=max_tokens,
                                   concurrency=concurrency, seed=cfg.seed,
                                   standardise=standardise)  # type: ignore[arg-type]
        if limit is not None and limit < 1:
            raise ConfigError(f"--limit must be >= 1, got {limit}")
        _check_specs([*models, *judges.values()], cfg)
        for spec in [*models, judges["rationality"], judges["helpfulness"]]:
            problem = vision_problem(spec)
            if problem:
                raise ConfigError(f"{problem}; the models and the rationality and helpfulness "
                                  "judges must see images")
        benchmark = read_benchmark(release)
        if out_dir is not None and out_dir.exists() and not out_dir.is_dir():
            raise ConfigError(f"--out {out_dir} is a file, not a directory")
    except (ConfigError, SpecError, ReleaseError, ValueError) as exc:
        raise fail(str(exc)) from None
    if limit is not None:
        benchmark = type(benchmark)(benchmark.path, benchmark.manifest,
                                    benchmark.questions[:limit])
    target = out_dir or Path(cfg.runs_dir) / f"bench-honesty-{time.strftime('%Y%m%d-%H%M%S')}"
    with make_progress(console) as progress:
        result = bench_and_report(benchmark, models, judges, target, settings,
                                  api_bases=dict(cfg.api_bases), cache=cfg.cache,
                                  progress=progress)
    out.print(terminal_table(result))
    out.print(f"answers: {target / 'answers.jsonl'}", soft_wrap=True)
    out.print(f"csv: {target / 'honesty_scores.csv'}", soft_wrap=True)
    out.print(f"report: {target / 'report.html'}", soft_wrap=True)


def register(app: typer.Typer) -> None:
    from valuegraph.cli.bench import bench_app

    bench_app.command("honesty")(honesty_cmd)
