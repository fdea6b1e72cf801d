"""The trait benchmark (``valuegraph bench traits``): a model with and without elicited
reflections, on held-out items and on a downstream task (spec §1.7).

For every trait and every condition the target answers the trait's **held-out** questionnaire
items (``split: test``: SVS-, MFQ-2- and BFI-2-style; never the items the reflection was tuned
on) and writes a response to each downstream prompt of its trait system (value questions,
moral scenarios, story openings), which a judge scores with P(the response shows the trait).
Conditions are the baselines that need no training and the reflection:

    raw      no prompt (the paper's "Raw")
    persona  a plain persona prompt naming the trait and its definition
    irote    the elicited reflection block

Each condition is compared with each earlier one on the same items (paired: mean difference
with a paired-bootstrap interval, exact sign test, Wilcoxon signed-rank;
``valuegraph/values/paired.py``), per trait and over all traits. Outputs: ``scores.jsonl``
(every answer), ``traits.csv``, ``report.html``, ``summary.json``.

Reflection sources: an IROTE run directory (its ``results.jsonl``) or a JSONL file of IROTE
records or of rows ``theory, dimension, lines``.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from valuegraph.agents import Judge, Target
from valuegraph.graphs._shared.seeds import call_seed
from valuegraph.graphs.irote import prompts as irote_prompts
from valuegraph.graphs.irote.scoring import (
    answer_item,
    item_messages,
    render_lines,
    resolve_method,
)
from valuegraph.tools.files import FileError, iter_jsonl
from valuegraph.tools.pool import ModelPool
from valuegraph.tools.results import ResultLog
from valuegraph.tools.templates import Templates
from valuegraph.tools.types import BackendError
from valuegraph.values.paired import PairedComparison, compare_paired
from valuegraph.values.trait_items import (
    TraitItem,
    TraitTask,
    dimension_code,
    load_distractors,
    select_items,
    theory_of,
)

log = logging.getLogger(__name__)

CONDITIONS = ("raw", "persona", "irote")
MEASURES = ("heldout", "downstream")
ALL = "all"


@dataclass(frozen=True)
class Reflection:
    """An elicited reflection to evaluate."""

    theory: str
    dimension: str
    lines: tuple[str, ...]
    target: str = ""


@dataclass(frozen=True)
class TraitsBenchSettings:
    """How the benchmark asks, scores and compares."""

    conditions: tuple[str, ...] = CONDITIONS
    method: str = "auto"
    distractor_turns: tuple[int, ...] = (0,)
    item_temperature: float = 0.01
    item_max_tokens: int = 8
    task_temperature: float = 0.01
    task_max_tokens: int = 200
    judge_method: str = "auto"
    judge_votes: int = 5
    concurrency: int = 16
    seed: int = 0
    n_resamples: int = 1000

    def __post_init__(self) -> None:
        unknown = [c for c in self.conditions if c not in CONDITIONS]
        if unknown or len(set(self.conditions)) < 2:
            raise ValueError(f"conditions must be at least two of {', '.join(CONDITIONS)}, "
                             f"got {', '.join(self.conditions) or '(none)'}")
        if self.method not in ("auto", "loglik", "generate"):
            raise ValueError(f"method must be auto, loglik or generate, got {self.method!r}")
        if self.judge_method not in ("auto", "logprobs", "loglik", "vote"):
            raise ValueError(f"judge method must be auto, logprobs, loglik or vote, got "
                             f"{self.judge_method!r}")
        if not self.distractor_turns or any(not 0 <= t <= 20 for t in self.distractor_turns):
            raise ValueError(f"distractor turns must be between 0 and 20, got "
                             f"{list(self.distractor_turns)}")
        for name in ("item_max_tokens", "task_max_tokens", "judge_votes", "concurrency"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name.replace('_', '-')} must be >= 1, got "
                                 f"{getattr(self, name)}")


@dataclass
class TraitsResult:
    """Every score, and the paired comparisons."""

    model: str
    judge: str
    settings: TraitsBenchSettings
    scores: dict[tuple[str, str, str], list[float | None]] = field(default_factory=dict)
    """(trait id, measure, condition) -> per-item scores, in item order."""
    comparisons: list[tuple[str, str, str, str, PairedComparison]] = field(default_factory=list)
    """(trait id or "all", measure, condition, baseline, comparison)."""
    traits: list[str] = field(default_factory=list)


def load_reflections(source: str | Path) -> list[Reflection]:
    """Reflections from an IROTE run directory or a JSONL file (IROTE records, or rows of
    ``theory, dimension, lines``).

    Raises:
        FileError: nothing to read, or a bad row (named by its line).
    """
    path = Path(source)
    if path.is_dir():
        path = path / "results.jsonl"
        if not path.is_file():
            raise FileError(source, "is not an IROTE run directory (no results.jsonl)")
    found: dict[tuple[str, str], Reflection] = {}
    for line, row in iter_jsonl(path, "reflection file"):
        if isinstance(row, str):
            raise FileError(path, row, line)
        if "kind" in row and row["kind"] != "irote_reflection":
            continue  # other records of a run (failures)
        lines = row.get("lines")
        if not isinstance(lines, list) or not lines or not all(
                isinstance(x, str) and x.strip() for x in lines):
            raise FileError(path, "'lines' must be a non-empty list of texts", line)
        try:
            theory = str(row.get("theory") or "").strip().lower()
            code = dimension_code(theory, str(row.get("dimension") or ""))
        except KeyError as exc:
            raise FileError(path, exc.args[0], line) from None
        found[(theory, code)] = Reflection(theory, code, tuple(lines), str(row.get("target")
                                                                           or ""))
    if not found:
        raise FileError(path, "no reflections (schema: theory, dimension, lines)")
    return list(found.values())


def preamble(templates: Templates, condition: str, reflection: Reflection) -> str:
    """What the condition puts in front of the task text."""
    if condition == "raw":
        return ""
    if condition == "persona":
        dim = theory_of(reflection.theory).get(reflection.dimension)
        return templates.render("PERSONA_PROMPT", trait=dim.name, definition=dim.definition)
    return templates.render("REFLECTION_BLOCK", insights=render_lines(reflection.lines))


def check_coverage(reflections: Sequence[Reflection], items: Sequence[TraitItem],
                   tasks: Sequence[TraitTask]) -> None:
    """Every reflection's trait has held-out items and its system downstream prompts.

    Raises:
        ValueError: a trait without held-out (test split) items or without prompts.
    """
    for r in reflections:
        if not select_items(items, r.theory, r.dimension, "test"):
            raise ValueError(f"no held-out items (split: test) for {r.theory}:{r.dimension}")
        if not [t for t in tasks if t.theory == r.theory]:
            raise ValueError(f"no downstream prompts for trait system {r.theory}")


async def run_traits_bench(
    reflections: Sequence[Reflection], items: Sequence[TraitItem], tasks: Sequence[TraitTask],
    model: str, judge_spec: str, pool: ModelPool, settings: TraitsBenchSettings, *,
    api_bases: dict[str, str] | None = None, scores_log: ResultLog | None = None,
    progress: Any = None,
) -> TraitsResult:
    """Answer and score every (trait, condition, item) and (trait, condition, prompt); compare.

    A request that keeps failing leaves its score unscored (counted, never 0).
    """
    bases = api_bases or {}
    templates = Templates.from_module(irote_prompts)
    target = Target(pool, model, api_base=bases.get(model))
    judge = Judge(pool, judge_spec, api_base=bases.get(judge_spec),
                  method=settings.judge_method, votes=settings.judge_votes)
    await asyncio.to_thread(lambda: [pool.backend(s, bases.get(s)) for s in (model, judge_spec)])
    method = resolve_method(target, settings.method, "generate")
    history = load_distractors()
    gate = asyncio.Semaphore(settings.concurrency)
    result = TraitsResult(model, judge_spec, settings)
    jobs = [(r, c) for r in reflections for c in settings.conditions]
    task = progress.add_task("bench traits", total=len(jobs), info="") if progress else None

    async def heldout(r: Reflection, condition: str, item: TraitItem) -> dict[str, Any]:
        text = preamble(templates, condition, r)
        scores, raws = [], []
        for turns in settings.distractor_turns:
            async with gate:
                try:
                    answer = await answer_item(
                        target, item_messages(templates, text, item, history, turns), item,
                        method, seed=call_seed(settings.seed, "heldout", turns, item.id),
                        temperature=settings.item_temperature,
                        max_tokens=settings.item_max_tokens)
                    scores.append(answer.score)
                    raws.append(answer.raw)
                except BackendError as exc:
                    log.warning("%s failed on item %s: %s", model, item.id, exc)
                    scores.append(None)
                    raws.append(f"error: {exc}")
        scored = [s for s in scores if s is not None]
        return {"item": item.id, "score": sum(scored) / len(scored) if scored else None,
                "raw": raws}

    responses: dict[str, asyncio.Future[str]] = {}

    async def respond(content: str, prompt: TraitTask) -> str:
        async with gate:
            return (await target.complete(
                [{"role": "user", "content": content}], n=1,
                temperature=settings.task_temperature, max_tokens=settings.task_max_tokens,
                seed=call_seed(settings.seed, "task", prompt.id)))[0].text

    async def downstream(r: Reflection, condition: str, prompt: TraitTask) -> dict[str, Any]:
        text = preamble(templates, condition, r)
        content = f"{text}\n\n{prompt.prompt}" if text else prompt.prompt
        dim = theory_of(r.theory).get(r.dimension)
        if content not in responses:  # the raw response is shared by a system's traits
            responses[content] = asyncio.ensure_future(respond(content, prompt))
        try:
            response = await asyncio.shield(responses[content])
            async with gate:
                verdict = await judge.judge([{"role": "user", "content": templates.render(
                    "TASK_JUDGE_PROMPT", trait=dim.name, definition=dim.definition,
                    task=prompt.prompt, response=response)}])
        except BackendError as exc:
            log.warning("%s failed on prompt %s: %s", model, prompt.id, exc)
            return {"item": prompt.id, "score": None, "raw": f"error: {exc}"}
        return {"item": prompt.id, "score": verdict.score, "raw": response,
                "judged_by": f"{verdict.judge}:{verdict.method}"}

    async def one(r: Reflection, condition: str) -> None:
        trait = f"{r.theory}:{r.dimension}"
        held = select_items(items, r.theory, r.dimension, "test")
        prompts_ = [t for t in tasks if t.theory == r.theory]
        rows = await asyncio.gather(*(heldout(r, condition, i) for i in held),
                                    *(downstream(r, condition, p) for p in prompts_))
        for measure, part in (("heldout", rows[:len(held)]), ("downstream", rows[len(held):])):
            result.scores[(trait, measure, condition)] = [row["score"] for row in part]
            if scores_log is not None:
                for row in part:
                    scores_log.append({"trait": trait, "measure": measure,
                                       "condition": condition, "model": model, **row})
        if task is not None:
            progress.update(task, advance=1, info=f"{trait} {condition}")

    await asyncio.gather(*(one(r, c) for r, c in jobs))
    result.traits = [f"{r.theory}:{r.dimension}" for r in reflections]
    result.comparisons = compare_conditions(result)
    return result


def compare_conditions(result: TraitsResult) -> list[tuple[str, str, str, str,
                                                            PairedComparison]]:
    """Each condition against each earlier one, per trait and over all traits (items pooled)."""
    settings = result.settings
    pairs = [(c, b) for i, c in enumerate(settings.conditions)
             for b in settings.conditions[:i]]
    rows = []
    for measure in MEASURES:
        for condition, baseline in pairs:
            pooled_after: list[float | None] = []
            pooled_before: list[float | None] = []
            for trait in result.traits:
                after = result.scores[(trait, measure, condition)]
                before = result.scores[(trait, measure, baseline)]
                pooled_after += after
                pooled_before += before
                rows.append((trait, measure, condition, baseline, compare_paired(
                    before, after, n_resamples=settings.n_resamples, seed=settings.seed)))
            rows.append((ALL, measure, condition, baseline, compare_paired(
                pooled_before, pooled_after, n_resamples=settings.n_resamples,
                seed=settings.seed)))
    return rows


def summary_of(result: TraitsResult) -> dict[str, Any]:
    """The JSON summary: settings, means per (trait, measure, condition), comparisons."""
    means = {}
    for (trait, measure, condition), scores in result.scores.items():
        scored = [s for s in scores if s is not None]
        means.setdefault(trait, {}).setdefault(measure, {})[condition] = {
            "mean": sum(scored) / len(scored) if scored else None, "n": len(scored),
            "unscored": len(scores) - len(scored)}
    return {"model": result.model, "judge": result.judge,
            "settings": {k: list(v) if isinstance(v, tuple) else v
                         for k, v in asdict(result.settings).items()},
            "means": means,
            "comparisons": [{"trait": t, "measure": m, "condition": c, "baseline": b,
                             **comp.to_json()} for t, m, c, b, comp in result.comparisons]}


def bench_and_report(reflections: list[Reflection], items: list[TraitItem],
                     tasks: list[TraitTask], model: str, judge: str, cfg: Any, out_dir: Path,
                     settings: TraitsBenchSettings, progress: Any = None
                     ) -> tuple[TraitsResult, Path, Path]:
    """Run the benchmark and write scores.jsonl, traits.csv, report.html and summary.json into
    ``out_dir`` (its completion cache makes a rerun free)."""
    from valuegraph.evals.traits_report import write_csv, write_report
    from valuegraph.tools.pool import closing

    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "scores.jsonl").unlink(missing_ok=True)  # this run's scores only
    pool = ModelPool(out_dir / "cache" if cfg.cache else None, api_bases=cfg.api_bases)
    try:
        result = asyncio.run(closing(pool, run_traits_bench(
            reflections, items, tasks, model, judge, pool, settings, api_bases=cfg.api_bases,
            scores_log=ResultLog(out_dir / "scores.jsonl", writer=True), progress=progress)))
    finally:
        pool.close()
    (out_dir / "summary.json").write_text(json.dumps(summary_of(result), indent=1))
    return result, write_csv(result, out_dir / "traits.csv"), write_report(
        result, out_dir / "report.html")
