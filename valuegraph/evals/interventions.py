"""``bench moral --intervention``: the same prompts scored with and without value instructions.

An intervention is a value instruction per prompt, put in the target's context (a system
message by default; see ``graphs/_shared/moral_prompts``):

- ``vilmo``: one instruction per prompt written now by the VILMO generator (the run config's
  optimizer, or ``--generator``) with VILMO's first-instruction prompt, decoded greedily as the
  paper does at test time. This is the loop's round 0 (same prompt, same seed), not the
  instruction a VILMO run optimised; for those, pass the run directory.
- a VILMO run directory (its ``exports/instructions.jsonl``, else its ``results.jsonl``) or a
  JSONL file of ``{prompt_id or prompt, instruction}``: the instructions it holds. Prompts of
  the set without an instruction are left out of both conditions (the output says how many);
  an instruction that matches no prompt is an error.

Both conditions draw their completions with the same seeds, so they differ by the instruction
only. Outputs: ``samples.jsonl`` (without), ``samples_intervention.jsonl`` (with),
``instructions.jsonl`` (what the target was given), ``moral_scores.csv`` (both conditions),
``moral_paired.csv`` and ``report.html`` with the paired comparison.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from valuegraph.agents import Optimizer
from valuegraph.evals.moral_bench import (
    BenchResult,
    BenchSettings,
    MoralPrompt,
    run_moral_bench,
    write_csv,
    write_report,
)
from valuegraph.evals.moral_paired import PAIRED_CSV, PairedRow, paired_rows, write_paired_csv
from valuegraph.graphs._shared.moral_prompts import PLACEMENTS
from valuegraph.graphs._shared.seeds import call_seed
from valuegraph.graphs.vilmo import prompts as vilmo_prompts
from valuegraph.graphs.vilmo.graph import draft_instruction, instruction_request
from valuegraph.graphs.vilmo.records import load_instructions, match_instructions
from valuegraph.tools.files import write_jsonl
from valuegraph.tools.pool import ModelPool
from valuegraph.tools.results import ResultLog
from valuegraph.tools.templates import Templates

VILMO = "vilmo"
NONE = "none"
GENERATOR_SAMPLING = {"temperature": 0.0, "max_tokens": 160}
"""Greedy, as the paper decodes its instruction at test time; the loop's default length."""


@dataclass
class InterventionPlan:
    """What ``--intervention`` names, checked against the prompt set before any call."""

    name: str
    """``vilmo``, or the instruction file / run directory given."""
    placement: str = "system"
    generator: str | None = None
    """The spec that writes the instructions (``vilmo`` only)."""
    instructions: dict[str, str] = field(default_factory=dict)
    """Prompt id -> instruction (given by a file; written at run time for ``vilmo``)."""
    left_out: int = 0
    """Prompts of the set without an instruction (left out of both conditions)."""

    @property
    def label(self) -> str:
        return VILMO if self.generator else Path(self.name).name


def plan_intervention(value: str, prompt_set: Sequence[MoralPrompt], *,
                      generator: str | None = None, placement: str = "system"
                      ) -> tuple[InterventionPlan | None, list[MoralPrompt]]:
    """The intervention ``value`` names and the prompts it applies to (all for ``none`` and
    ``vilmo``; those with an instruction for a file).

    Raises:
        ValueError: an unknown placement, a path that does not exist, a bad instruction file
            (``FileError``, line named), instructions matching no prompt, or none at all.
    """
    if placement not in PLACEMENTS:
        raise ValueError(f"--placement must be one of {', '.join(PLACEMENTS)}, got "
                         f"{placement!r}")
    if value == NONE:
        return None, list(prompt_set)
    if value == VILMO:
        if not generator:
            raise ValueError("--intervention vilmo needs a generator (--generator or "
                             "models.optimizer)")
        return InterventionPlan(VILMO, placement, generator), list(prompt_set)
    if not Path(value).exists():
        raise ValueError(f"--intervention must be vilmo, none, or an instruction file / VILMO "
                         f"run directory; no such path: {value}")
    matched = match_instructions(load_instructions(value), prompt_set)
    if not matched:
        raise ValueError(f"{value}: no instruction for any prompt of the set")
    chosen = [p for p in prompt_set if p.id in matched]
    return (InterventionPlan(value, placement, None, matched, len(prompt_set) - len(chosen)),
            chosen)


async def generate_instructions(prompt_set: Sequence[MoralPrompt], spec: str, pool: ModelPool,
                                *, api_base: str | None = None, seed: int = 0,
                                concurrency: int = 16, progress: Any = None) -> dict[str, str]:
    """One instruction per prompt from the VILMO generator (its round-0 request and seed)."""
    templates = Templates.from_module(vilmo_prompts)
    writer = Optimizer(pool, spec, sampling=dict(GENERATOR_SAMPLING), api_base=api_base)
    gate = asyncio.Semaphore(concurrency)
    task = progress.add_task("instructions", total=len(prompt_set), info=spec) \
        if progress is not None else None

    async def one(item: MoralPrompt) -> tuple[str, str]:
        async with gate:
            request = instruction_request(templates, item.prompt, item.principle,
                                          item.foundation)
            text = await draft_instruction(writer, request,
                                           call_seed(seed, item.id, 0, "instruction"),
                                           what=f"prompt {item.id!r}")
        if task is not None:
            progress.update(task, advance=1)
        return item.id, text

    return dict(await asyncio.gather(*(one(p) for p in prompt_set)))


@dataclass
class InterventionRun:
    """Both conditions, their paired comparison, and the files written."""

    base: BenchResult
    treated: BenchResult
    paired: list[PairedRow]
    instructions: dict[str, str]
    paths: dict[str, Path]


async def run_intervention(prompt_set: Sequence[MoralPrompt], models: Sequence[str],
                           judge: str, pool: ModelPool, settings: BenchSettings,
                           plan: InterventionPlan, out_dir: Path, *,
                           api_bases: dict[str, str] | None = None, progress: Any = None
                           ) -> InterventionRun:
    """Score the prompts without and with the instructions (concurrently; for ``vilmo`` the
    instructions are written while the baseline runs) and compare them per model."""
    api_bases = api_bases or {}

    async def treated() -> tuple[dict[str, str], BenchResult]:
        instructions = plan.instructions
        if plan.generator:
            instructions = await generate_instructions(
                prompt_set, plan.generator, pool, api_base=api_bases.get(plan.generator),
                seed=settings.seed, concurrency=settings.concurrency, progress=progress)
        result = await run_moral_bench(
            prompt_set, models, judge, pool, settings, api_bases=api_bases,
            samples_log=ResultLog(out_dir / "samples_intervention.jsonl", writer=True),
            progress=progress, instructions=instructions, placement=plan.placement,
            condition=plan.label)
        return instructions, result

    base, (instructions, result) = await asyncio.gather(
        run_moral_bench(prompt_set, models, judge, pool, settings, api_bases=api_bases,
                        samples_log=ResultLog(out_dir / "samples.jsonl", writer=True),
                        progress=progress),
        treated())
    rows = [row for model in models for row in paired_rows(
        prompt_set, base.scores[model], result.scores[model], before_label=model,
        after_label=f"{model} + {plan.label}", threshold=settings.threshold,
        n_resamples=settings.n_resamples, seed=settings.seed)]
    return InterventionRun(base, result, rows, instructions, {})


def bench_intervention_and_report(prompt_set: list[MoralPrompt], models: list[str], judge: str,
                                  cfg: Any, out_dir: Path, settings: BenchSettings,
                                  plan: InterventionPlan, progress: Any = None
                                  ) -> InterventionRun:
    """:func:`run_intervention` in ``out_dir`` (its completion cache makes a rerun free), then
    the instructions, both conditions' scores, the paired CSV and the report."""
    from valuegraph.tools.pool import closing

    out_dir.mkdir(parents=True, exist_ok=True)
    for name in ("samples.jsonl", "samples_intervention.jsonl"):
        (out_dir / name).unlink(missing_ok=True)  # this run's samples only
    pool = ModelPool(out_dir / "cache" if cfg.cache else None, api_bases=cfg.api_bases)
    try:
        run = asyncio.run(closing(pool, run_intervention(
            prompt_set, models, judge, pool, settings, plan, out_dir,
            api_bases=cfg.api_bases, progress=progress)))
    finally:
        pool.close()
    source = f"written by {plan.generator}" if plan.generator else str(plan.name)
    run.paths["instructions"] = write_jsonl(out_dir / "instructions.jsonl", [
        {"prompt_id": p.id, "prompt": p.prompt, "instruction": run.instructions[p.id],
         "placement": plan.placement, "source": source} for p in prompt_set])
    run.paths["csv"] = write_csv([run.base, run.treated], out_dir / "moral_scores.csv")
    run.paths["paired_csv"] = write_paired_csv(run.paired, out_dir / PAIRED_CSV)
    note = (f"Intervention: {plan.label} (instructions {source}; placement {plan.placement}), "
            f"on {len(prompt_set)} prompts")
    note += f"; {plan.left_out} prompt(s) without an instruction left out." if plan.left_out \
        else "."
    run.paths["html"] = write_report([run.base, run.treated], out_dir / "report.html",
                                     title="Moral benchmark with and without intervention",
                                     paired=run.paired, note=note)
    return run

