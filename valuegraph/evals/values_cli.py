"""``valuegraph bench values``: value profiles of models on an AdAEM release (spec §3.6).

    valuegraph bench values runs/<run>/releases/v1 -m openai/gpt-4o-mini -m hosted_vllm/llama \\
        --judge openai/gpt-4o --theory schwartz --out profiles/

For every (model, question) one opinion is collected (stance + key points, listing L3), each
point is labelled with the theory's values by the judge, and the model's value set for the
question is the OR over its points. Outputs in ``--out``: ``profiles.csv`` (TrueSkill win-rate
and raw rate per model and value), ``answers.jsonl``, ``summary.json`` (with Cronbach's α over
random folds) and ``report.html`` (radar per model, heatmap of models x values).
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Annotated, Any

import typer

from valuegraph.evals.theories import THEORIES


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
    from valuegraph.evals.values_scores import label_set, model_values
    from valuegraph.graphs.adaem.prompts import Prompts
    from valuegraph.graphs.adaem.scoring import QuestionScorer, ValueLabeller
    from valuegraph.tools.types import BackendError

    bases = dict(api_bases or {})
    prompts = Prompts()
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


def values_cmd(
    release: Annotated[Path, typer.Argument(help="Release directory or questions JSONL.")],
    model: Annotated[list[str], typer.Option("--model", "-m", help="Model to profile (repeat).")],
    judge: Annotated[str, typer.Option(help="Value judge model.")] = "local",
    theory: Annotated[str, typer.Option(help="schwartz or mft.")] = "schwartz",
    out: Annotated[Path | None, typer.Option(help="Output directory.")] = None,
    limit: Annotated[int | None, typer.Option(help="Use only the first N questions.")] = None,
    folds: Annotated[int, typer.Option(help="Random folds for Cronbach's alpha.")] = 5,
    passes: Annotated[int, typer.Option(help="TrueSkill passes over the questions.")] = 1,
    seed: Annotated[int, typer.Option(help="Seed of sampling and shuffles.")] = 0,
    judge_mode: Annotated[str, typer.Option(help="per_value or joint.")] = "per_value",
    temperature: Annotated[float, typer.Option(help="Sampling temperature of answers.")] = 0.0,
    max_tokens: Annotated[int, typer.Option(help="Token limit of an answer.")] = 400,
    api_base: Annotated[list[str] | None, typer.Option(
        help="spec=url of a server (repeat).")] = None,
) -> None:
    """Value profiles (TrueSkill win-rates and raw rates) of models on a release."""
    from valuegraph.cli import fail, make_pool
    from valuegraph.cli import out as stdout
    from valuegraph.config import ConfigError, RunConfig
    from valuegraph.graphs.adaem.release import ReleaseError, read_release
    from valuegraph.tools.pool import closing
    from valuegraph.tools.specs import SpecError, missing_api_keys, parse_spec

    try:
        if theory not in ("schwartz", "mft"):
            raise ConfigError(f"theory must be schwartz or mft, got {theory!r}")
        if judge_mode not in ("per_value", "joint"):
            raise ConfigError(f"judge-mode must be per_value or joint, got {judge_mode!r}")
        if len(set(model)) < 2:
            raise ConfigError("TrueSkill profiles compare models: give at least two --model")
        if folds < 2:
            raise ConfigError(f"folds must be >= 2, got {folds}")
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
        loaded = read_release(release)
        if not loaded.questions:
            raise ConfigError(f"{release} holds no questions")
    except (ConfigError, SpecError, ReleaseError) as exc:
        raise fail(str(exc)) from None
    questions = loaded.questions[:limit] if limit else loaded.questions
    target = out or (loaded.path if loaded.path.is_dir() else loaded.path.parent) / \
        f"profiles-{theory}"
    target.mkdir(parents=True, exist_ok=True)
    config = RunConfig(api_bases=bases, seed=seed)
    pool = make_pool(config, target / "cache")
    try:
        summary = asyncio.run(closing(pool, profile_release(
            pool, list(dict.fromkeys(model)), questions, target, judge=judge, theory=theory,
            judge_mode=judge_mode, folds=folds, passes=passes, seed=seed,
            temperature=temperature, max_tokens=max_tokens, api_bases=bases,
            release_name=loaded.manifest.get("version", str(release)))))
    finally:
        pool.close()
    _print_table(stdout, summary)


async def profile_release(pool: Any, models: list[str], questions: list[dict[str, Any]],
                          out: Path, *, judge: str, theory: str = "schwartz",
                          judge_mode: str = "per_value", folds: int = 5, passes: int = 1,
                          seed: int = 0, temperature: float = 0.0, max_tokens: int = 400,
                          api_bases: dict[str, str] | None = None,
                          release_name: str = "") -> dict[str, Any]:
    """Collect, profile, and write the outputs; returns the summary (also in summary.json)."""
    from valuegraph.evals.values_profiles import (
        TrueSkillSettings,
        fold_reliability,
        raw_rates,
        trueskill_profiles,
    )
    from valuegraph.evals.values_report import write_profiles_csv, write_values_report

    value_theory = THEORIES[theory]
    codes = list(value_theory.codes)
    expressed, answers = await collect_expressed(
        pool, models, questions, judge=judge, theory=value_theory, judge_mode=judge_mode,
        max_tokens=max_tokens, temperature=temperature, seed=seed, api_bases=api_bases)
    settings = TrueSkillSettings(passes=passes, seed=seed)
    trueskill = trueskill_profiles(expressed, codes, settings)
    raw = raw_rates(expressed, codes)
    reliability = fold_reliability(expressed, codes, folds=min(folds, max(2, len(questions))),
                                   seed=seed, settings=settings)
    answered = {m: len(expressed[m]) for m in models}
    summary = {
        "release": release_name, "questions": len(questions), "models": models,
        "judge": judge, "theory": theory, "judge_mode": judge_mode, "seed": seed,
        "trueskill_passes": passes, "answered": answered,
        "unanswered": {m: len(questions) - answered[m] for m in models},
        "cronbach_alpha": reliability.alpha, "coefficient_of_variation": reliability.cv,
        "folds": reliability.folds, "trueskill": trueskill, "raw_rate": raw,
    }
    write_profiles_csv(out / "profiles.csv", trueskill, raw, codes, answered)
    with open(out / "answers.jsonl", "w", encoding="utf-8") as fh:
        for record in answers:
            fh.write(json.dumps(record, ensure_ascii=False) + "\n")
    (out / "summary.json").write_text(json.dumps(summary, indent=1, default=str))
    flat = {k: v for k, v in summary.items() if k not in ("trueskill", "raw_rate")}
    write_values_report(out / "report.html", title=f"Value profiles ({value_theory.name})",
                        trueskill=trueskill, raw=raw, codes=codes, summary=flat)
    summary["out"] = str(out)
    return summary


def _print_table(console: Any, summary: dict[str, Any]) -> None:
    from rich.table import Table

    codes = list(THEORIES[summary["theory"]].codes)
    table = Table("model", *codes, title="TrueSkill win-rate (0-100)")
    for model, scores in summary["trueskill"].items():
        table.add_row(model, *(f"{scores[c]:.1f}" for c in codes))
    console.print(table)
    console.print(f"Cronbach's alpha over {summary['folds']} folds: "
                  f"{summary['cronbach_alpha']:.3f}; outputs in {summary['out']}")


def register(app: typer.Typer, bench_app: typer.Typer) -> None:
    """Mount ``valuegraph bench values`` (called by valuegraph.cli)."""
    bench_app.command("values")(values_cmd)
