"""The moral benchmark: EVR / MVP / APV of target models on a MoralPrompt-style prompt set.

For every (model, prompt) the model writes K continuations of the prompt (the DeNEVIL target
prompt), a violation judge scores each, and the metrics of :mod:`valuegraph.values.moral_metrics`
are reported per model and per foundation with bootstrap 95% intervals and the count of unscored
judgements. Outputs: ``samples.jsonl`` (every completion, its score and the judge that gave it),
``moral_scores.csv`` and ``report.html`` (a plot per foundation).

Prompt file schema (JSONL or CSV; an exported DeNEVIL dataset fits): ``prompt`` (required),
``foundation`` (required), ``principle`` (required), ``id`` (optional, else ``p<line>``).

With ``instructions`` (an in-context intervention such as VILMO's value instructions) the target
gets each prompt's instruction in its context (``graphs/_shared/moral_prompts``); the paired
comparison of the two conditions is in :mod:`valuegraph.evals.moral_paired`.
"""

from __future__ import annotations

import asyncio
import csv
import hashlib
import logging
import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from valuegraph.agents import Target
from valuegraph.agents.violation_judge import make_violation_judge
from valuegraph.graphs._shared.moral_prompts import (
    MoralPrompt,
    continuation_messages,
    load_moral_prompts,
)
from valuegraph.graphs._shared.records import ScoredCompletion
from valuegraph.tools.pool import ModelPool
from valuegraph.tools.results import ResultLog
from valuegraph.tools.types import BackendError
from valuegraph.values.moral_metrics import METRICS, TAU, MoralScores, moral_scores
from valuegraph.values.theories import MORAL_FOUNDATIONS

log = logging.getLogger(__name__)

ALL = "all"
NONE = "none"
"""The condition of a run without intervention."""
__all__ = ["ALL", "METRICS", "NONE", "BenchResult", "BenchSettings", "MoralPrompt",
           "bench_and_report", "load_prompts", "run_moral_bench", "terminal_table", "write_csv",
           "write_report"]


@dataclass(frozen=True)
class BenchSettings:
    """How completions are drawn and judged (defaults as in the DeNEVIL graph)."""

    samples: int = 10
    threshold: float = TAU
    temperature: float = 1.0
    top_p: float = 0.9
    max_tokens: int = 128
    judge_method: str = "auto"
    judge_votes: int = 5
    concurrency: int = 16
    seed: int = 0
    n_resamples: int = 1000

    def __post_init__(self) -> None:
        if self.samples < 1:
            raise ValueError(f"samples (K) must be >= 1, got {self.samples}")
        if not 0.0 <= self.threshold < 1.0:
            raise ValueError(f"threshold must be in [0, 1), got {self.threshold}")
        if self.judge_method not in ("auto", "logprobs", "loglik", "vote"):
            raise ValueError(f"judge_method must be auto, logprobs, loglik or vote, got "
                             f"{self.judge_method!r}")
        if self.judge_votes < 1:
            raise ValueError(f"judge_votes must be >= 1, got {self.judge_votes}")
        if self.concurrency < 1:
            raise ValueError(f"concurrency must be >= 1, got {self.concurrency}")


@dataclass
class BenchResult:
    """Scores per (model, prompt), and the metrics per model and foundation."""

    judge: str
    settings: BenchSettings
    condition: str = NONE
    """``none``, or the intervention whose instructions the target had in context."""
    scores: dict[str, dict[str, list[float | None]]] = field(default_factory=dict)
    """model -> prompt id -> the K scores."""
    methods: dict[str, Counter] = field(default_factory=dict)
    """model -> how many scores each judge method produced."""
    table: list[tuple[str, str, MoralScores]] = field(default_factory=list)
    """(model, foundation or "all", scores), models in the order given."""


def load_prompts(source: str | Path) -> list[MoralPrompt]:
    """Read a prompt set: a JSONL/CSV file, or a DeNEVIL run directory (its exported dataset).

    Raises:
        ValueError: no such file, no prompts, or bad rows (each named by its line number).
    """
    return load_moral_prompts(source)


def _seed(base: int, model: str, prompt_id: str) -> int:
    digest = hashlib.sha256(f"{base}|{model}|{prompt_id}".encode()).digest()
    return int.from_bytes(digest[:4], "big") >> 1


async def run_moral_bench(
    prompt_set: Sequence[MoralPrompt],
    models: Sequence[str],
    judge_spec: str,
    pool: ModelPool,
    settings: BenchSettings = BenchSettings(),
    *,
    api_bases: dict[str, str] | None = None,
    samples_log: ResultLog | None = None,
    progress: Any = None,
    instructions: Mapping[str, str] | None = None,
    placement: str = "system",
    condition: str = NONE,
) -> BenchResult:
    """Sample, judge and score; every completion goes to ``samples_log`` when given.

    ``instructions`` (prompt id -> text) puts each prompt's instruction in the target's context
    (``placement``: a system message, or prepended to the user message); ``condition`` names
    that intervention in the result. A model that keeps failing on a prompt leaves that
    prompt's K judgements unscored (they are counted, not dropped silently).
    """
    api_bases = api_bases or {}
    instructions = instructions or {}
    judge = make_violation_judge(pool, judge_spec, api_base=api_bases.get(judge_spec),
                                 method=settings.judge_method, votes=settings.judge_votes)
    result = BenchResult(judge_spec, settings, condition)
    gate = asyncio.Semaphore(settings.concurrency)
    label = "bench moral" if condition == NONE else f"bench moral + {condition}"
    task = progress.add_task(label, total=len(models) * len(prompt_set), info="") \
        if progress is not None else None

    async def one(model: str, item: MoralPrompt) -> None:
        async with gate:
            target = Target(pool, model, api_base=api_bases.get(model), sampling={
                "temperature": settings.temperature, "top_p": settings.top_p,
                "max_tokens": settings.max_tokens})
            messages = continuation_messages(item.prompt, instructions.get(item.id),
                                             placement=placement)
            try:
                replies = await target.complete(messages, n=settings.samples,
                                                seed=_seed(settings.seed, model, item.id))
                completions = [r.text for r in replies]
                verdicts = await asyncio.gather(*(judge.score(item.principle, item.prompt, c)
                                                  for c in completions))
                scores = [v.score for v in verdicts]
                methods = [f"{v.judge}:{v.method}" for v in verdicts]
            except BackendError as exc:
                log.warning("%s failed on prompt %s: %s", model, item.id, exc)
                completions, scores = [], [None] * settings.samples
                methods = [f"{model}:error"] * settings.samples
        result.scores.setdefault(model, {})[item.id] = scores
        result.methods.setdefault(model, Counter()).update(m.rsplit(":", 1)[-1] for m in methods)
        if samples_log is not None:
            for k, completion in enumerate(completions):
                samples_log.append(ScoredCompletion(
                    prompt_id=item.id, prompt=item.prompt, principle=item.principle,
                    foundation=item.foundation, model=model, completion=completion,
                    score=scores[k], judge=methods[k], sample=k))
        if task is not None:
            progress.update(task, advance=1, info=model)

    for model in models:
        result.scores[model] = {}
    await asyncio.gather(*(one(m, p) for m in models for p in prompt_set))

    foundations = [d.code for d in MORAL_FOUNDATIONS.dimensions
                   if any(p.foundation == d.code for p in prompt_set)]
    for model in models:
        by_prompt = result.scores[model]
        groups = {ALL: [by_prompt[p.id] for p in prompt_set]}
        for code in foundations:
            groups[code] = [by_prompt[p.id] for p in prompt_set if p.foundation == code]
        for name, group in groups.items():
            result.table.append((model, name, moral_scores(
                group, settings.threshold, n_resamples=settings.n_resamples, seed=settings.seed)))
    return result


def _results(results: BenchResult | Sequence[BenchResult]) -> list[BenchResult]:
    return [results] if isinstance(results, BenchResult) else list(results)


def write_csv(results: BenchResult | Sequence[BenchResult], path: Path) -> Path:
    """One row per (condition, model, foundation): the metrics, their 95% intervals and the
    counts; ``condition`` is ``none`` without an intervention, and a treated condition's
    ``model`` reads ``<model> + <intervention>`` (so readers keyed by model, such as
    ``valuegraph view``, keep the two apart)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["model", "foundation", *(f"{m}{s}" for m in METRICS
                                                   for s in ("", "_low", "_high")),
                         "n_prompts", "n_scored", "n_unscored", "judge", "judge_methods",
                         "threshold", "samples", "condition"])
        for result in _results(results):
            for model, foundation, s in result.table:
                values = [getattr(s, m) for m in METRICS]
                writer.writerow([_shown(result, model), foundation,
                                 *(_num(x) for e in values for x in (e.value, e.low, e.high)),
                                 s.n_prompts, s.n_scored, s.n_unscored, result.judge,
                                 _methods(result, model), result.settings.threshold,
                                 result.settings.samples, result.condition])
    return path


def _num(value: float) -> str:
    return "" if math.isnan(value) else f"{value:.4f}"


def _methods(result: BenchResult, model: str) -> str:
    return " ".join(f"{k}={v}" for k, v in sorted(result.methods.get(model, Counter()).items()))


def _shown(result: BenchResult, model: str) -> str:
    return model if result.condition == NONE else f"{model} + {result.condition}"


def terminal_table(results: BenchResult | Sequence[BenchResult]) -> Any:
    """Rich tables, one per (model, condition): metrics in percent with 95% intervals, lower is
    better."""
    from rich import box
    from rich.console import Group
    from rich.table import Table

    tables = []
    results = _results(results)
    for result in results:
        for model in dict.fromkeys(m for m, _, _ in result.table):
            table = Table(box=box.SIMPLE_HEAD, collapse_padding=True, pad_edge=False,
                          title_justify="left",
                          title=f"[bold]{_shown(result, model)}[/bold]: EVR / MVP / APV in % "
                                "[95% CI], lower is better")
            for name in ("foundation", "EVR", "MVP", "APV", "prompts", "unscored"):
                table.add_column(name, no_wrap=True)
            for _, foundation, s in (row for row in result.table if row[0] == model):
                table.add_row(foundation, s.evr.compact(), s.mvp.compact(), s.apv.compact(),
                              str(s.n_prompts), str(s.n_unscored))
            tables.append(table)
    first = results[0]
    return Group(*tables, f"judge {first.judge}, tau = {first.settings.threshold}, "
                          f"K = {first.settings.samples}")


def write_report(results: BenchResult | Sequence[BenchResult], path: Path, *,
                 title: str = "Moral benchmark", paired: Sequence[Any] = (),
                 note: str = "") -> Path:
    """HTML report: the table, one plot per foundation (bars per model and condition, 95%
    intervals), then the paired comparison when given
    (:func:`valuegraph.evals.moral_paired.add_paired_section`)."""
    import numpy as np

    from valuegraph.evals.report import HtmlReport, new_figure

    results = _results(results)
    first = results[0]
    report = HtmlReport(title)
    report.paragraph(
        f"Judge: {first.judge}. Threshold tau = {first.settings.threshold} (a completion "
        f"violates when p > tau). K = {first.settings.samples} completions per prompt. "
        "EVR: % of prompts with at least one violation; MVP: mean over prompts of the highest "
        "violation probability; APV: % of completions that violate. Lower is better. Intervals: "
        "percentile bootstrap over prompts, 95%. Unscored judgements are left out of the "
        "denominators and counted.")
    if note:
        report.paragraph(note)
    rows = [(_shown(r, m), f, s, _methods(r, m)) for r in results for m, f, s in r.table]
    report.table(["model", "foundation", "EVR %", "MVP %", "APV %", "prompts", "scored",
                  "unscored", "judge methods"],
                 [[m, f, str(s.evr), str(s.mvp), str(s.apv), s.n_prompts, s.n_scored,
                   s.n_unscored, methods] for m, f, s, methods in rows])
    models = list(dict.fromkeys(m for m, _, _, _ in rows))
    foundations = list(dict.fromkeys(f for _, f, _, _ in rows))
    lookup = {(m, f): s for m, f, s, _ in rows}
    for foundation in foundations:
        report.heading("All foundations" if foundation == ALL
                       else MORAL_FOUNDATIONS.get(foundation).name)
        fig, ax = new_figure(6.5, 3.2)
        width = 0.8 / max(1, len(models))
        x = np.arange(len(METRICS))
        for j, model in enumerate(models):
            scores = lookup[(model, foundation)]
            estimates = [getattr(scores, m) for m in METRICS]
            values = np.array([0.0 if math.isnan(e.value) else e.value for e in estimates])
            low = np.array([0.0 if math.isnan(e.low) else e.value - e.low for e in estimates])
            high = np.array([0.0 if math.isnan(e.high) else e.high - e.value for e in estimates])
            ax.bar(x + (j - (len(models) - 1) / 2) * width, values, width, label=model,
                   yerr=np.vstack([low, high]), capsize=3)
        ax.set_xticks(x, [m.upper() for m in METRICS])
        ax.set_ylim(0, 105)
        ax.set_ylabel("% (lower is better)")
        ax.legend(fontsize="small")
        report.figure(fig, f"{foundation}: EVR / MVP / APV per model with 95% intervals")
    if paired:
        from valuegraph.evals.moral_paired import add_paired_section

        add_paired_section(report, paired)
    return report.write(path)


def bench_and_report(prompt_set: list[MoralPrompt], models: list[str], judge: str, cfg: Any,
                     out_dir: Path, settings: BenchSettings, progress: Any = None
                     ) -> tuple[BenchResult, Path, Path]:
    """Run the moral benchmark and write samples.jsonl (scored completions), moral_scores.csv
    and report.html into ``out_dir`` (its completion cache makes a rerun free)."""
    from valuegraph.tools.pool import closing

    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "samples.jsonl").unlink(missing_ok=True)  # this run's samples only
    pool = ModelPool(out_dir / "cache" if cfg.cache else None, api_bases=cfg.api_bases)
    try:
        result = asyncio.run(closing(pool, run_moral_bench(
            prompt_set, models, judge, pool, settings, api_bases=cfg.api_bases,
            samples_log=ResultLog(out_dir / "samples.jsonl", writer=True), progress=progress)))
    finally:
        pool.close()
    csv_path = write_csv(result, out_dir / "moral_scores.csv")
    html_path = write_report(result, out_dir / "report.html")
    return result, csv_path, html_path
