"""``valuegraph bench honesty``: MoHoBench's evaluation protocol (spec §3.5) on a release.

For every (model, question) the model answers once with the image (temperature 1.0, top-p 0.95,
as in the paper); the refusal judge tags the answer (text only); a refusal is scored for
rationality (the judge sees the image and the reference reason) and every answer for
helpfulness (with the image). Metrics per model (:mod:`valuegraph.values.honesty_metrics`):
refusal rate overall and per type, mean rationality over refusals, mean helpfulness, and the
balanced performance index across the models compared. A model that keeps failing on a
question leaves that answer unjudged (recorded with its error, counted, never a crash).

Outputs in the output directory: ``answers.jsonl`` (every answer as a typed
:class:`~valuegraph.graphs.mohobench.records.JudgedAnswer`: what ``valuegraph train honesty``
reads as preference data), ``honesty_scores.csv``, ``summary.json``, ``report.html`` (plots)
and ``cache/`` (a rerun into the same directory sends no request twice).
"""

from __future__ import annotations

import asyncio
import csv
import json
import logging
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from valuegraph.agents import Target
from valuegraph.agents.honesty_judge import HonestyJudges
from valuegraph.graphs._shared.records import RecordLog
from valuegraph.graphs._shared.seeds import call_seed
from valuegraph.graphs.mohobench.records import JudgedAnswer
from valuegraph.graphs.mohobench.release import Benchmark, BenchQuestion
from valuegraph.tools.images import image_part
from valuegraph.tools.pool import ModelPool
from valuegraph.tools.types import BackendError
from valuegraph.values.honesty_metrics import (
    METRICS,
    HonestyScores,
    JudgedRow,
    Standardisation,
    balanced_performance_index,
    honesty_scores,
)
from valuegraph.values.theories import HONESTY_TYPES

log = logging.getLogger(__name__)

ANSWERS_FILE = "answers.jsonl"
SCORES_FILE = "honesty_scores.csv"
SUMMARY_FILE = "summary.json"
REPORT_FILE = "report.html"
PAPER_MEANS = {"refusal_rate": 0.213, "rationality": 6.09, "helpfulness": 6.99, "bpi": 0.11}
"""Means over the paper's 28 models (spec §3.6), shown beside the results for scale."""


@dataclass(frozen=True)
class HonestySettings:
    """How answers are drawn and judged (defaults: the paper's sampling, spec §3.5)."""

    temperature: float = 1.0
    top_p: float = 0.95
    max_tokens: int = 512
    """The paper uses each model's default length limit; 512 here [R]."""
    judge_max_tokens: int = 256
    concurrency: int = 16
    seed: int = 0
    standardise: Standardisation = "minmax"

    def __post_init__(self) -> None:
        if self.temperature < 0:
            raise ValueError(f"temperature must be >= 0, got {self.temperature}")
        if not 0 < self.top_p <= 1:
            raise ValueError(f"top_p must be in (0, 1], got {self.top_p}")
        for name in ("max_tokens", "judge_max_tokens", "concurrency"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.standardise not in ("minmax", "fixed"):
            raise ValueError(f"standardise must be minmax or fixed, got {self.standardise!r}")


@dataclass
class HonestyResult:
    """Every judged answer, the metrics per model and the BPI across them."""

    benchmark: str
    judges: dict[str, str]
    settings: HonestySettings
    answers: dict[str, list[JudgedAnswer]] = field(default_factory=dict)
    scores: dict[str, HonestyScores] = field(default_factory=dict)
    bpi: dict[str, float] = field(default_factory=dict)


async def judged_answer(model: str, item: BenchQuestion, pool: ModelPool, judges: HonestyJudges,
                        settings: HonestySettings, api_bases: dict[str, str]) -> JudgedAnswer:
    """One model's answer to one question, with the three judges' verdicts."""
    image = image_part(item.image)
    target = Target(pool, model, api_base=api_bases.get(model), sampling={
        "temperature": settings.temperature, "top_p": settings.top_p,
        "max_tokens": settings.max_tokens})
    base = {"qid": item.qid, "model": model, "question": item.question,
            "category": item.category, "image": item.image, "reason": item.reason,
            "judges": {"refusal": judges.refusal, "rationality": judges.rationality,
                       "helpfulness": judges.helpfulness}}
    try:
        reply = await target.complete(
            [{"role": "user", "content": [image, {"type": "text", "text": item.question}]}],
            n=1, seed=call_seed(settings.seed, model, item.qid, "answer"))
    except BackendError as exc:
        log.warning("%s failed on %s: %s", model, item.qid, exc)
        return JudgedAnswer(**base, answer="", error=str(exc))
    answer = reply[0].text
    seed = call_seed(settings.seed, model, item.qid, "judge")
    tag = await judges.refusal_tag(item.question, answer, item.category, seed=seed)
    refused = tag.score == 1.0
    helpful_job = judges.helpfulness_score(item.question, answer, image, seed=seed)
    if refused:
        rational, helpful = await asyncio.gather(judges.rationality_score(
            item.question, answer, item.category, item.reason, image, seed=seed), helpful_job)
    else:
        rational, helpful = None, await helpful_job
    raw = {"refusal": tag.raw, "helpfulness": helpful.raw}
    if rational is not None:
        raw["rationality"] = rational.raw
    return JudgedAnswer(
        **base, answer=answer, refusal=None if tag.score is None else int(tag.score),
        rationality=None if rational is None or rational.score is None else int(rational.score),
        helpfulness=None if helpful.score is None else int(helpful.score),
        judge_raw={k: v[:1000] for k, v in raw.items()})


async def run_honesty_bench(
    benchmark: Benchmark, models: Sequence[str], judges: HonestyJudges, pool: ModelPool,
    settings: HonestySettings = HonestySettings(), *, api_bases: dict[str, str] | None = None,
    answers_log: RecordLog | None = None, progress: Any = None,
) -> HonestyResult:
    """Answer, judge and score; every judged answer goes to ``answers_log`` as it finishes."""
    api_bases = api_bases or {}
    result = HonestyResult(benchmark.name, {"refusal": judges.refusal,
                                            "rationality": judges.rationality,
                                            "helpfulness": judges.helpfulness}, settings)
    gate = asyncio.Semaphore(settings.concurrency)
    questions = benchmark.questions
    task = progress.add_task("bench honesty", total=len(models) * len(questions), info="") \
        if progress is not None else None
    found: dict[tuple[str, str], JudgedAnswer] = {}

    async def one(model: str, item: BenchQuestion) -> None:
        async with gate:
            answer = await judged_answer(model, item, pool, judges, settings, api_bases)
        found[(model, item.qid)] = answer
        if answers_log is not None:
            answers_log.append(answer)
        if task is not None:
            progress.update(task, advance=1, info=model)

    await asyncio.gather(*(one(m, q) for m in models for q in questions))
    for model in models:
        answers = [found[(model, q.qid)] for q in questions]
        result.answers[model] = answers
        rows = [JudgedRow(a.category, a.refusal, a.rationality, a.helpfulness)
                for a in answers if a.error is None]
        result.scores[model] = honesty_scores(rows, HONESTY_TYPES.codes)
    result.bpi = balanced_performance_index(result.scores, settings.standardise)
    return result


def _num(value: float, digits: int = 4) -> str:
    return "" if math.isnan(value) else f"{value:.{digits}f}"


def write_scores_csv(result: HonestyResult, path: Path) -> Path:
    """One row per model: the metrics, per-type refusal rates, BPI and the counts."""
    codes = HONESTY_TYPES.codes
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["model", *METRICS, *(f"refusal_{c}" for c in codes), "bpi",
                         "standardise", "n_answers", "n_refusals", "n_failed",
                         "n_refusal_unscored", "n_rationality_unscored",
                         "n_helpfulness_unscored", "refusal_judge", "rationality_judge",
                         "helpfulness_judge"])
        for model, s in result.scores.items():
            failed = sum(a.error is not None for a in result.answers[model])
            writer.writerow([model, *(_num(s.metric(m)) for m in METRICS),
                             *(_num(s.refusal_by_type[c]) for c in codes),
                             _num(result.bpi[model]), result.settings.standardise,
                             s.n_answers, s.n_refusals, failed, s.n_refusal_unscored,
                             s.n_rationality_unscored, s.n_helpfulness_unscored,
                             *result.judges.values()])
    return path


def summary(result: HonestyResult) -> dict[str, Any]:
    def clean(value: float) -> float | None:
        return None if math.isnan(value) else value

    return {"benchmark": result.benchmark, "judges": result.judges,
            "settings": asdict(result.settings), "paper_means": PAPER_MEANS,
            "models": {m: {**{k: clean(s.metric(k)) for k in METRICS},
                           "refusal_by_type": {c: clean(v) for c, v in
                                               s.refusal_by_type.items()},
                           "bpi": clean(result.bpi[m]), "n_answers": s.n_answers,
                           "n_refusals": s.n_refusals,
                           "n_failed": sum(a.error is not None for a in result.answers[m]),
                           "unscored": {"refusal": s.n_refusal_unscored,
                                        "rationality": s.n_rationality_unscored,
                                        "helpfulness": s.n_helpfulness_unscored}}
                       for m, s in result.scores.items()}}


def terminal_table(result: HonestyResult) -> Any:
    """A rich table: refusal % (overall and per type), rationality, helpfulness, BPI."""
    from rich.table import Table

    short = {"Context_Dependent": "CD", "False_Premises": "FP",
             "Subjective_or_Philosophical": "SP", "Vague_Description": "VD"}
    table = Table(title=f"MoHoBench on {result.benchmark} (judges: "
                        f"{', '.join(sorted(set(result.judges.values())))})")
    for name in ("model", "refusal %", *(f"{v} %" for v in short.values()), "rationality",
                 "helpfulness", f"BPI ({result.settings.standardise})", "answers"):
        table.add_column(name, no_wrap=True)
    for model, s in result.scores.items():
        pct = [_num(100 * v, 1) or "n/a" for v in (s.refusal_rate,
                                                    *s.refusal_by_type.values())]
        table.add_row(model, *pct, _num(s.rationality, 2) or "n/a",
                      _num(s.helpfulness, 2) or "n/a", _num(result.bpi[model], 3) or "n/a",
                      str(s.n_answers))
    return table


def bench_and_report(benchmark: Benchmark, models: list[str], judges: dict[str, str],
                     out_dir: Path, settings: HonestySettings, *, api_bases: dict[str, str],
                     cache: bool = True, progress: Any = None) -> HonestyResult:
    """Run the benchmark and write answers, scores, summary and report into ``out_dir``."""
    from valuegraph.evals.honesty_report import write_honesty_report
    from valuegraph.tools.pool import closing

    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / ANSWERS_FILE).unlink(missing_ok=True)  # this run's answers only
    pool = ModelPool(out_dir / "cache" if cache else None, api_bases=api_bases)
    roles = HonestyJudges(pool, judges["refusal"], judges["rationality"], judges["helpfulness"],
                          api_bases, max_tokens=settings.judge_max_tokens)
    try:
        result = asyncio.run(closing(pool, run_honesty_bench(
            benchmark, models, roles, pool, settings, api_bases=api_bases,
            answers_log=RecordLog(out_dir / ANSWERS_FILE, writer=True), progress=progress)))
    finally:
        pool.close()
    write_scores_csv(result, out_dir / SCORES_FILE)
    (out_dir / SUMMARY_FILE).write_text(json.dumps(summary(result), indent=1), encoding="utf-8")
    write_honesty_report(result, out_dir / REPORT_FILE)
    return result
