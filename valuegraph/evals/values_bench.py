"""Value profiles (``valuegraph bench values``) of models on an AdAEM release (spec §3.6).

    valuegraph bench values runs/<run>/releases/v1 -m openai/gpt-4o-mini -m hosted_vllm/llama \\
        --judge openai/gpt-4o --theory schwartz --out profiles/

For every (model, question) one opinion is collected (stance + key points, listing L3), each
point is labelled with the theory's values by the judge, and the model's value set for the
question is the OR over its points. Win-rates are the mean over ``--shuffles`` (10) question
orders, with their SD over the orders. Outputs in ``--out``: ``profiles.csv`` (TrueSkill
win-rate, its SD and raw rate per model and value), ``answers.jsonl``, ``summary.json`` (with
Cronbach's α over random folds) and ``report.html`` (radar per model, heatmap of models x
values).
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from valuegraph.values.theories import THEORIES


def _unused_similarity(a: Any, b: Any) -> Any:
    raise NotImplementedError("profiles do not compute S")


async def collect_expressed(
    pool: Any, models: list[str], questions: list[dict[str, Any]], *, judge: str, theory: Any,
    judge_mode: str = "per_value", judge_method: str = "auto", points: int = 3,
    words: int = 250, max_tokens: int = 400, temperature: float = 0.0, top_p: float = 1.0,
    seed: int = 0, api_bases: dict[str, str] | None = None, concurrency: int = 32,
) -> tuple[dict[str, dict[str, frozenset[str]]], list[dict[str, Any]]]:
    """(expressed[model][qid] value sets, answer records). Unparsable answers and backend
    failures leave that (model, question) out, and are recorded in the answer records."""
    from valuegraph.agents.value_labeller import QuestionScorer, ValueLabeller, value_templates
    from valuegraph.tools.types import BackendError
    from valuegraph.values.informativeness import label_set, model_values

    bases = dict(api_bases or {})
    prompts = value_templates()
    labeller = ValueLabeller(pool, judge, theory, prompts, judge_mode, judge_method,
                             api_base=bases.get(judge), seed=seed)
    scorer = QuestionScorer(pool, labeller, prompts, similarity=_unused_similarity,
                            points=points, words=words, api_bases=bases,
                            sampling={"temperature": temperature, "top_p": top_p,
                                      "max_tokens": max_tokens, "seed": seed})
    gate = asyncio.Semaphore(concurrency)
    expressed: dict[str, dict[str, frozenset[str]]] = {m: {} for m in models}

    async def one(model: str, question: dict[str, Any]) -> dict[str, Any]:
        async with gate:
            record: dict[str, Any] = {"qid": question["qid"], "model": model}
            try:
                opinion = await scorer.opinion(model, question["question"])
            except BackendError as exc:
                return {**record, "error": str(exc)[:300]}
            labelled = await asyncio.gather(*(labeller.label(p) for p in opinion.points))
        sets = [label_set(labels) for labels, _, _ in labelled]
        record.update(stance=opinion.stance, parsed=opinion.parsed,
                      points=[{"text": p, "values": sorted(s)}
                              for p, s in zip(opinion.points, sets, strict=True)])
        if opinion.parsed:
            expressed[model][question["qid"]] = model_values(sets)
            record["values"] = sorted(expressed[model][question["qid"]])
        return record

    answers = await asyncio.gather(*(one(m, q) for q in questions for m in models))
    return expressed, list(answers)


def point_sets_of(answers: list[dict[str, Any]]) -> dict[str, dict[str, list[frozenset[str]]]]:
    """Per model and question, the label set of each key point of a parsed answer."""
    out: dict[str, dict[str, list[frozenset[str]]]] = {}
    for record in answers:
        if "values" in record:
            out.setdefault(record["model"], {})[record["qid"]] = [
                frozenset(point["values"]) for point in record.get("points", [])]
    return out


async def profile_release(pool: Any, models: list[str], questions: list[dict[str, Any]],
                          out: Path, *, judge: str, theory: str = "schwartz",
                          judge_mode: str = "per_value", folds: int = 5, passes: int = 1,
                          shuffles: int = 10, partial_play: str = "none",
                          seed: int = 0, temperature: float = 0.0, max_tokens: int = 400,
                          api_bases: dict[str, str] | None = None,
                          release_name: str = "") -> dict[str, Any]:
    """Collect, profile, and write the outputs; returns the summary (also in summary.json)."""
    from valuegraph.evals.values_report import write_profiles_csv, write_values_report
    from valuegraph.values.profiles import (
        TrueSkillSettings,
        fold_reliability,
        point_shares,
        raw_rates,
        trueskill_profile_stats,
    )

    value_theory = THEORIES[theory]
    codes = list(value_theory.codes)
    expressed, answers = await collect_expressed(
        pool, models, questions, judge=judge, theory=value_theory, judge_mode=judge_mode,
        max_tokens=max_tokens, temperature=temperature, seed=seed, api_bases=api_bases)
    settings = TrueSkillSettings(passes=passes, seed=seed, shuffles=shuffles,
                                 partial_play=partial_play)  # type: ignore[arg-type]
    shares = point_shares(point_sets_of(answers)) if partial_play == "points" else None
    stats = trueskill_profile_stats(expressed, codes, settings, shares=shares)
    trueskill = stats.mean
    raw = raw_rates(expressed, codes)
    reliability = fold_reliability(expressed, codes, folds=min(folds, max(2, len(questions))),
                                   seed=seed, settings=settings, shares=shares)
    answered = {m: len(expressed[m]) for m in models}
    summary = {
        "release": release_name, "questions": len(questions), "models": models,
        "judge": judge, "theory": theory, "judge_mode": judge_mode, "seed": seed,
        "trueskill_passes": passes, "trueskill_shuffles": shuffles,
        "partial_play": partial_play, "answered": answered,
        "unanswered": {m: len(questions) - answered[m] for m in models},
        "cronbach_alpha": reliability.alpha, "coefficient_of_variation": reliability.cv,
        "folds": reliability.folds, "trueskill": trueskill, "trueskill_sd": stats.sd,
        "trueskill_sd_mean": float(sum(v for per in stats.sd.values() for v in per.values())
                                   / max(1, len(models) * len(codes))),
        "raw_rate": raw,
    }
    write_profiles_csv(out / "profiles.csv", trueskill, raw, codes, answered, stats.sd)
    with open(out / "answers.jsonl", "w", encoding="utf-8") as fh:
        for record in answers:
            fh.write(json.dumps(record, ensure_ascii=False) + "\n")
    (out / "summary.json").write_text(json.dumps(summary, indent=1, default=str))
    flat = {k: v for k, v in summary.items()
            if k not in ("trueskill", "trueskill_sd", "raw_rate")}
    write_values_report(out / "report.html", title=f"Value profiles ({value_theory.name})",
                        trueskill=trueskill, raw=raw, codes=codes, summary=flat)
    summary["out"] = str(out)
    return summary
