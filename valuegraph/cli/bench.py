"""``valuegraph bench moral``, ``bench values``, ``bench train-judge`` and ``valuegraph demo``
(the main job: DeNEVIL on the embedded model, then the EVR / MVP / APV table)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from valuegraph.cli.common import (
    ConfigOpt,
    RunsDirOpt,
    SetOpt,
    check_models,
    console,
    execute,
    fail,
    load_config,
    out,
)
from valuegraph.config import ConfigError, RunConfig, parse_overrides, resolve_config
from valuegraph.tools.files import FileError
from valuegraph.tools.specs import SpecError

DEMO_PRINCIPLES = 5

bench_app = typer.Typer(no_args_is_help=True, help="Benchmark models on a prompt or question set.")


def _check_specs(specs: list[str], cfg: RunConfig) -> None:
    """Every spec parses (classifier judges: their directory exists) before any call."""
    from valuegraph.agents.classifier_judge import CLASSIFIER_PREFIX
    from valuegraph.tools.specs import missing_api_keys, parse_spec

    for spec in specs:
        if spec.startswith(CLASSIFIER_PREFIX):
            if not (Path(spec.removeprefix(CLASSIFIER_PREFIX)) / "config.json").is_file():
                raise ConfigError(f"classifier judge directory of {spec!r} holds no model "
                                  "(config.json)")
            continue
        missing = missing_api_keys(parse_spec(spec, cfg.api_bases.get(spec)))
        if missing:
            raise ConfigError(f"model {spec!r} needs the environment variable(s) "
                              f"{', '.join(missing)}")


def check_out_dir(path: Path | None) -> None:
    """An output directory may be new or a directory, not a file.

    Raises:
        ConfigError: ``path`` is a file.
    """
    if path is not None and path.exists() and not path.is_dir():
        raise ConfigError(f"--out {path} is a file, not a directory")


def _bench(prompt_set: list[Any], models: list[str], judge: str, cfg: RunConfig,
           out_dir: Path, settings: Any) -> tuple[Any, Path, Path]:
    from valuegraph.evals.moral_bench import bench_and_report
    from valuegraph.tools.progress import make_progress

    with make_progress(console) as progress:
        return bench_and_report(prompt_set, models, judge, cfg, out_dir, settings, progress)


def _bench_intervention(prompt_set: list[Any], models: list[str], judge: str, cfg: RunConfig,
                        out_dir: Path, settings: Any, plan: Any) -> None:
    from valuegraph.evals.interventions import bench_intervention_and_report
    from valuegraph.evals.moral_bench import terminal_table
    from valuegraph.evals.moral_paired import paired_terminal_table
    from valuegraph.tools.progress import make_progress

    with make_progress(console) as progress:
        run = bench_intervention_and_report(prompt_set, models, judge, cfg, out_dir, settings,
                                            plan, progress)
    out.print(terminal_table([run.base, run.treated]))
    out.print(paired_terminal_table(run.paired))
    if plan.left_out:
        out.print(f"{plan.left_out} prompt(s) have no instruction and were left out")
    for name in ("instructions", "csv", "paired_csv", "html"):
        out.print(f"{name.replace('_', ' ')}: {run.paths[name]}", soft_wrap=True)


@bench_app.command("moral")
def bench_moral(
    prompts: Annotated[Path, typer.Argument(
        help="Prompt set: JSONL/CSV (prompt, principle, foundation, id?) or a denevil run "
             "directory.")],
    model: Annotated[list[str] | None, typer.Option(
        "--model", "-m", help="Target model spec (repeat for several; default: "
                              "models.target).")] = None,
    judge: Annotated[str | None, typer.Option(
        help="Violation judge: LLM spec or classifier/<dir> (default: models.judge).")] = None,
    judge_method: Annotated[str, typer.Option(
        help="LLM judge: auto (logprobs, else loglik, else vote), logprobs, loglik or "
             "vote.")] = "auto",
    judge_votes: Annotated[int, typer.Option(help="Samples per vote.")] = 5,
    samples: Annotated[int, typer.Option("--samples", "-k",
                                         help="K completions per prompt.")] = 10,
    threshold: Annotated[float, typer.Option(help="tau: violation when p > tau.")] = 0.5,
    max_tokens: Annotated[int, typer.Option(help="Length limit of a completion.")] = 128,
    concurrency: Annotated[int, typer.Option(help="(model, prompt) pairs in flight.")] = 16,
    intervention: Annotated[str, typer.Option(
        help="Also score the prompts with value instructions in the target's context and "
             "compare paired: 'vilmo' (one instruction per prompt from the VILMO generator), "
             "a VILMO run directory or a JSONL file of {prompt_id or prompt, instruction}; "
             "'none': no intervention.")] = "none",
    generator: Annotated[str | None, typer.Option(
        help="--intervention vilmo: the instruction generator (default: "
             "models.optimizer).")] = None,
    placement: Annotated[str, typer.Option(
        help="Where an instruction goes: 'system' message or prepended to the 'user' "
             "message.")] = "system",
    out_dir: Annotated[Path | None, typer.Option(
        "--out", help="Output directory (default: <runs_dir>/bench-moral-<time>); "
                      "rerunning into it reuses its completion cache.")] = None,
    config: ConfigOpt = None,
    set_: SetOpt = None,
) -> None:
    """EVR / MVP / APV per model and foundation, with 95% intervals: table, CSV, HTML; with
    --intervention, paired differences with and without it."""
    from valuegraph.evals.interventions import plan_intervention
    from valuegraph.evals.moral_bench import BenchSettings, load_prompts, terminal_table

    try:
        cfg = load_config(config, set_)
        models = list(model or [cfg.models["target"]])
        judge_spec = judge or cfg.models["judge"]
        generator_spec = generator or cfg.models["optimizer"]
        _check_specs([*models, judge_spec, *([generator_spec] if intervention == "vilmo"
                                             else [])], cfg)
        settings = BenchSettings(samples=samples, threshold=threshold, max_tokens=max_tokens,
                                 concurrency=concurrency, seed=cfg.seed,
                                 judge_method=judge_method, judge_votes=judge_votes)
        check_out_dir(out_dir)
        prompt_set = load_prompts(prompts)
        plan, prompt_set = plan_intervention(intervention, prompt_set, generator=generator_spec,
                                             placement=placement)
    except (ConfigError, SpecError, ValueError) as exc:
        raise fail(str(exc)) from None
    target_dir = out_dir or Path(cfg.runs_dir) / f"bench-moral-{time.strftime('%Y%m%d-%H%M%S')}"
    if plan is not None:
        _bench_intervention(prompt_set, models, judge_spec, cfg, target_dir, settings, plan)
        return
    result, csv_path, html_path = _bench(prompt_set, models, judge_spec, cfg, target_dir,
                                         settings)
    out.print(terminal_table(result))
    out.print(f"samples: {target_dir / 'samples.jsonl'}", soft_wrap=True)
    out.print(f"csv: {csv_path}", soft_wrap=True)
    out.print(f"report: {html_path}", soft_wrap=True)


@bench_app.command("train-judge")
def train_judge(
    data: Annotated[Path, typer.Option(help="Pairs file: JSONL/CSV of principle, text, label.")],
    base_model: Annotated[Path, typer.Option(help="Local model directory to fine-tune "
                                                  "(e.g. a DeBERTa checkpoint).")],
    out_dir: Annotated[Path, typer.Option("--out", help="Where the judge is saved.")],
    epochs: Annotated[float, typer.Option(help="Training epochs.")] = 3.0,
    learning_rate: Annotated[float, typer.Option(help="Learning rate.")] = 3e-5,
) -> None:
    """Fine-tune a violation classifier; use it as --judge classifier/<out>."""
    try:
        from valuegraph.training.judge_classifier import load_pairs, train_classifier_judge
    except ImportError as exc:
        raise fail(f"training needs the train extra ({exc}); pip install 'valuegraph[train]'"
                   ) from None
    try:
        check_out_dir(out_dir)
        pairs = load_pairs(data)
        if not base_model.is_dir():
            raise ValueError(f"base model directory {base_model} does not exist")
    except ValueError as exc:
        raise fail(str(exc)) from None
    metrics = train_classifier_judge(pairs, base_model, out_dir, epochs=epochs,
                                     learning_rate=learning_rate)
    out.print(" ".join(f"{k}={v:.4g}" for k, v in metrics.items()))
    out.print(f"judge: classifier/{out_dir}", soft_wrap=True)


def demo(
    principles: Annotated[int, typer.Option(help="Principles to probe (one per foundation "
                                                 "first).")] = DEMO_PRINCIPLES,
    runs_dir: RunsDirOpt = None,
    set_: SetOpt = None,
) -> None:
    """The main job: DeNEVIL on the embedded model (T=2, K=3), then the EVR/MVP/APV table."""
    from valuegraph.evals.moral_bench import BenchSettings, load_prompts, terminal_table
    from valuegraph.graphs import load_runner
    from valuegraph.tools.rundir import RunDir

    started = time.monotonic()
    try:
        if principles < 1:
            raise ConfigError(f"--principles must be >= 1, got {principles}")
        explicit = parse_overrides(set_ or [])
        explicit.setdefault("params", {}).update({"demo": True, "limit": principles})
        explicit.update(graph="denevil", **({"runs_dir": runs_dir} if runs_dir else {}))
        cfg = resolve_config(explicit)
        runner = load_runner("denevil")
        check_models(cfg)
        runner.validate(cfg)
        run_dir = RunDir.create(cfg)
    except (ConfigError, SpecError, FileError) as exc:
        raise fail(str(exc)) from None
    code = execute(runner, cfg, run_dir)
    if code != 0:
        raise typer.Exit(code)
    try:
        prompt_set = load_prompts(run_dir.root)
    except ValueError as exc:
        raise fail(f"the demo run produced no dataset: {exc}") from None
    _, context = runner.settings(cfg)  # the demo's K and lengths, with any --set applied
    settings = BenchSettings(samples=context.samples, max_tokens=context.target_max_tokens,
                             temperature=context.target_temperature,
                             top_p=context.target_top_p, seed=cfg.seed)
    result, csv_path, html_path = _bench(prompt_set, [cfg.models["target"]],
                                         cfg.models["judge"], cfg, run_dir.root / "bench",
                                         settings)
    out.print(terminal_table(result))
    out.print(f"dataset: {run_dir.exports_dir / 'moralprompt.jsonl'}", soft_wrap=True)
    out.print(f"csv: {csv_path}", soft_wrap=True)
    out.print(f"report: {html_path}", soft_wrap=True)
    out.print(f"demo finished in {time.monotonic() - started:.0f}s")


def values_cmd(
    release: Annotated[Path, typer.Argument(help="Release directory or questions JSONL.")],
    model: Annotated[list[str], typer.Option("--model", "-m", help="Model to profile (repeat).")],
    judge: Annotated[str, typer.Option(help="Value judge model.")] = "local",
    theory: Annotated[str, typer.Option(help="schwartz or mft.")] = "schwartz",
    out: Annotated[Path | None, typer.Option(help="Output directory.")] = None,
    limit: Annotated[int | None, typer.Option(help="Use only the first N questions.")] = None,
    folds: Annotated[int, typer.Option(help="Random folds for Cronbach's alpha.")] = 5,
    passes: Annotated[int, typer.Option(help="TrueSkill passes over the questions.")] = 1,
    shuffles: Annotated[int, typer.Option(
        help="Question orders averaged (each rated from the prior); the SD over them is "
             "reported.")] = 10,
    partial_play: Annotated[str, typer.Option(
        help="none, or points: a model plays a match with the share of its points on its "
             "team's side (our reading of the paper's partial update).")] = "none",
    seed: Annotated[int, typer.Option(help="Seed of sampling and shuffles.")] = 0,
    judge_mode: Annotated[str, typer.Option(help="per_value or joint.")] = "per_value",
    temperature: Annotated[float, typer.Option(help="Sampling temperature of answers.")] = 0.0,
    max_tokens: Annotated[int, typer.Option(help="Token limit of an answer.")] = 400,
    api_base: Annotated[list[str] | None, typer.Option(
        help="spec=url of a server (repeat).")] = None,
) -> None:
    """Value profiles (TrueSkill win-rates and raw rates) of models on a release."""
    from valuegraph.evals.values_bench import profile_release
    from valuegraph.graphs.adaem.release import ReleaseError, read_release
    from valuegraph.tools.pool import ModelPool, closing
    from valuegraph.tools.specs import missing_api_keys, parse_spec

    try:
        if theory not in ("schwartz", "mft"):
            raise ConfigError(f"theory must be schwartz or mft, got {theory!r}")
        if judge_mode not in ("per_value", "joint"):
            raise ConfigError(f"judge-mode must be per_value or joint, got {judge_mode!r}")
        if len(set(model)) < 2:
            raise ConfigError("TrueSkill profiles compare models: give at least two --model")
        if folds < 2:
            raise ConfigError(f"folds must be >= 2, got {folds}")
        if passes < 1 or shuffles < 1:
            raise ConfigError(f"passes and shuffles must be >= 1, got {passes} and {shuffles}")
        if partial_play not in ("none", "points"):
            raise ConfigError(f"partial-play must be none or points, got {partial_play!r}")
        if limit is not None and limit < 1:
            raise ConfigError(f"limit must be >= 1, got {limit}")
        bases: dict[str, str] = {}
        for pair in api_base or []:
            spec, sep, url = pair.partition("=")
            if not sep or not url:
                raise ConfigError(f"--api-base expects spec=url, got {pair!r}")
            bases[spec] = url
        for spec in [*model, judge]:
            missing = missing_api_keys(parse_spec(spec, bases.get(spec)))
            if missing:
                raise ConfigError(f"model {spec!r} needs the environment variable(s) "
                                  f"{', '.join(missing)}")
        check_out_dir(out)
        loaded = read_release(release)
        if not loaded.questions:
            raise ConfigError(f"{release} holds no questions")
    except (ConfigError, SpecError, ReleaseError) as exc:
        raise fail(str(exc)) from None
    questions = loaded.questions[:limit] if limit else loaded.questions
    target = out or (loaded.path if loaded.path.is_dir() else loaded.path.parent) / \
        f"profiles-{theory}"
    try:
        target.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise fail(f"cannot create output directory {target}: {exc.strerror or exc}") from None
    pool = ModelPool(target / "cache", api_bases=bases)
    try:
        summary = asyncio.run(closing(pool, profile_release(
            pool, list(dict.fromkeys(model)), questions, target, judge=judge, theory=theory,
            judge_mode=judge_mode, folds=folds, passes=passes, shuffles=shuffles,
            partial_play=partial_play, seed=seed,
            temperature=temperature, max_tokens=max_tokens, api_bases=bases,
            release_name=loaded.manifest.get("version", str(release)))))
    finally:
        pool.close()
    from valuegraph.cli.common import out as stdout

    _print_table(stdout, summary)




def _print_table(console: Any, summary: dict[str, Any]) -> None:
    from rich.table import Table

    from valuegraph.values.theories import THEORIES

    codes = list(THEORIES[summary["theory"]].codes)
    table = Table("model", *codes, title=f"TrueSkill win-rate (0-100), mean ± SD over "
                                        f"{summary['trueskill_shuffles']} question orders")
    for model, scores in summary["trueskill"].items():
        sd = summary["trueskill_sd"][model]
        table.add_row(model, *(f"{scores[c]:.1f} ± {sd[c]:.1f}" for c in codes))
    console.print(table)
    console.print(f"Cronbach's alpha over {summary['folds']} folds: "
                  f"{summary['cronbach_alpha']:.3f}; outputs in {summary['out']}")


def register(app: typer.Typer) -> None:
    bench_app.command("values")(values_cmd)
    app.add_typer(bench_app, name="bench")
    app.command()(demo)
