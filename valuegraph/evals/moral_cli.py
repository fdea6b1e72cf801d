"""Commands: ``valuegraph bench moral``, ``valuegraph bench train-judge`` and ``valuegraph demo``
(the main job: DeNEVIL on the embedded model, then the EVR / MVP / APV table)."""

# No ``from __future__ import annotations``: typer reads the option types of the commands
# defined inside ``register`` at definition time, from names local to it.
import asyncio
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from valuegraph.config import ConfigError, RunConfig, resolve_config
from valuegraph.tools.specs import SpecError

DEMO_PRINCIPLES = 5


def bench_and_report(prompt_set: list[Any], models: list[str], judge: str, cfg: RunConfig,
                     out_dir: Path, settings: Any, console: Any) -> tuple[Any, Path, Path]:
    """Run the moral benchmark and write samples.jsonl, moral_scores.csv and report.html."""
    from valuegraph.evals.moral_bench import run_moral_bench, write_csv, write_report
    from valuegraph.progress import make_progress
    from valuegraph.tools.pool import ModelPool, closing
    from valuegraph.tools.results import ResultLog

    out_dir.mkdir(parents=True, exist_ok=True)
    pool = ModelPool(out_dir / "cache" if cfg.cache else None, api_bases=cfg.api_bases)
    try:
        with make_progress(console) as progress:
            result = asyncio.run(closing(pool, run_moral_bench(
                prompt_set, models, judge, pool, settings, api_bases=cfg.api_bases,
                samples_log=ResultLog(out_dir / "samples.jsonl"), progress=progress)))
    finally:
        pool.close()
    csv_path = write_csv(result, out_dir / "moral_scores.csv")
    html_path = write_report(result, out_dir / "report.html")
    return result, csv_path, html_path


def register(app: typer.Typer, bench_app: typer.Typer) -> None:
    """Mount the commands (called by ``valuegraph.cli``)."""
    from valuegraph.cli import ConfigOpt, RunsDirOpt, SetOpt, console, fail, load_config, out

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
        out_dir: Annotated[Path | None, typer.Option(
            "--out", help="Output directory (default: <runs_dir>/bench-moral-<time>); "
                          "rerunning into it reuses its completion cache.")] = None,
        config: ConfigOpt = None,
        set_: SetOpt = None,
    ) -> None:
        """EVR / MVP / APV per model and foundation, with 95% intervals: table, CSV, HTML."""
        from valuegraph.evals.moral_bench import BenchSettings, load_prompts, terminal_table

        try:
            cfg = load_config(config, set_)
            models = list(model or [cfg.models["target"]])
            judge_spec = judge or cfg.models["judge"]
            _check_specs([*models, judge_spec], cfg)
            settings = BenchSettings(samples=samples, threshold=threshold, max_tokens=max_tokens,
                                     concurrency=concurrency, seed=cfg.seed,
                                     judge_method=judge_method, judge_votes=judge_votes)
            prompt_set = load_prompts(prompts)
        except (ConfigError, SpecError, ValueError) as exc:
            raise fail(str(exc)) from None
        target_dir = out_dir or Path(cfg.runs_dir) / f"bench-moral-{time.strftime('%Y%m%d-%H%M%S')}"
        result, csv_path, html_path = bench_and_report(prompt_set, models, judge_spec, cfg,
                                                       target_dir, settings, console)
        out.print(terminal_table(result))
        out.print(f"csv: {csv_path}", soft_wrap=True)
        out.print(f"report: {html_path}", soft_wrap=True)

    @bench_app.command("train-judge")
    def train_judge(
        data: Annotated[Path, typer.Option(help="Pairs file: JSONL/CSV of principle, text, "
                                                "label.")],
        base_model: Annotated[Path, typer.Option(help="Local model directory to fine-tune "
                                                      "(e.g. a DeBERTa checkpoint).")],
        out_dir: Annotated[Path, typer.Option("--out", help="Where the judge is saved.")],
        epochs: Annotated[float, typer.Option(help="Training epochs.")] = 3.0,
        learning_rate: Annotated[float, typer.Option(help="Learning rate.")] = 3e-5,
    ) -> None:
        """Fine-tune a violation classifier; use it as --judge classifier/<out>."""
        from valuegraph.agents.classifier_judge import load_pairs, train_classifier_judge

        try:
            pairs = load_pairs(data)
            if not base_model.is_dir():
                raise ValueError(f"base model directory {base_model} does not exist")
        except ValueError as exc:
            raise fail(str(exc)) from None
        metrics = train_classifier_judge(pairs, base_model, out_dir, epochs=epochs,
                                         learning_rate=learning_rate)
        out.print(" ".join(f"{k}={v:.4g}" for k, v in metrics.items()))
        out.print(f"judge: classifier/{out_dir}", soft_wrap=True)

    @app.command()
    def demo(
        principles: Annotated[int, typer.Option(help="Principles to probe (one per foundation "
                                                     "first).")] = DEMO_PRINCIPLES,
        runs_dir: RunsDirOpt = None,
        set_: SetOpt = None,
    ) -> None:
        """The main job: DeNEVIL on the embedded model (T=2, K=3), then the EVR/MVP/APV table."""
        from valuegraph.cli import _execute, check_models, parse_overrides
        from valuegraph.evals.moral_bench import BenchSettings, load_prompts, terminal_table
        from valuegraph.graphs import load_runner
        from valuegraph.tools.rundir import RunDir

        started = time.monotonic()
        try:
            explicit = parse_overrides(set_ or [])
            explicit.setdefault("params", {}).update({"demo": True, "limit": principles})
            explicit.update(graph="denevil", **({"runs_dir": runs_dir} if runs_dir else {}))
            cfg = resolve_config(explicit)
            runner = load_runner("denevil")
            check_models(cfg)
            runner.validate(cfg)
            run_dir = RunDir.create(cfg)
        except (ConfigError, SpecError) as exc:
            raise fail(str(exc)) from None
        code = _execute(runner, cfg, run_dir)
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
        result, csv_path, html_path = bench_and_report(
            prompt_set, [cfg.models["target"]], cfg.models["judge"], cfg,
            run_dir.root / "bench", settings, console)
        out.print(terminal_table(result))
        out.print(f"dataset: {run_dir.exports_dir / 'moralprompt.jsonl'}", soft_wrap=True)
        out.print(f"csv: {csv_path}", soft_wrap=True)
        out.print(f"report: {html_path}", soft_wrap=True)
        out.print(f"demo finished in {time.monotonic() - started:.0f}s")


def _check_specs(specs: list[str], cfg: RunConfig) -> None:
    """Every spec parses (classifier judges: their directory exists) before any call."""
    from valuegraph.agents.classifier_judge import CLASSIFIER_PREFIX
    from valuegraph.tools.specs import parse_spec

    for spec in specs:
        if spec.startswith(CLASSIFIER_PREFIX):
            if not Path(spec.removeprefix(CLASSIFIER_PREFIX)).is_dir():
                raise ConfigError(f"classifier judge directory of {spec!r} does not exist")
            continue
        parse_spec(spec, cfg.api_bases.get(spec))
