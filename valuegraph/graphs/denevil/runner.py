"""`valuegraph run denevil`: the MoralPrompt-style dataset builder, on the kit's ItemRunner.

One DeNEVIL graph per principle. Every final prompt is recorded (a typed
:class:`~valuegraph.graphs._shared.records.MoralPromptRecord`) with its lineage; a prompt too
close to one already in the item bank is recorded as a duplicate and left out of the exported
dataset (JSONL, parquet, Hugging Face ``datasets``).

Settings (``--set params.<name>=...``): the fields of :class:`Context` (rounds, samples, keep,
threshold, ...), the kit's ``limit`` / ``durability`` / ``formats``, plus

    principles        JSONL/CSV principles file (default: the shipped seed set)
    foundations       use only these foundations (list of codes)
    dedup_threshold   cosine similarity at which a prompt is a near-duplicate (0.9); null: off
    demo              true: a quick run (5 principles, T=2, K=3) for the embedded model
"""

from __future__ import annotations

import json
import math
import statistics
import time
from pathlib import Path
from typing import Any, ClassVar

from pydantic import Field

from valuegraph.config import ConfigError
from valuegraph.graphs._shared.records import MoralPromptRecord
from valuegraph.graphs._shared.runner import Item, ItemRunner, ItemSettings, RunEnv
from valuegraph.graphs.denevil import graph
from valuegraph.graphs.denevil.context import Context
from valuegraph.graphs.denevil.principles import load_principles, select_principles
from valuegraph.tools.export import export_records
from valuegraph.tools.files import write_atomic
from valuegraph.values.diversity import distinct_n, mean_length, self_bleu_details

DATASET_STEM = "moralprompt"
MANIFEST_FILE = f"{DATASET_STEM}.manifest.json"
DEMO_PARAMS: dict[str, Any] = {
    "limit": 5, "rounds": 2, "samples": 3, "keep": 2, "rewrites": 2,
    "target_max_tokens": 40, "attacker_max_tokens": 96, "scenarios_per_principle": 1,
}
"""A demo on the embedded model: one principle per foundation, T = 2, K = 3, short texts."""
DATASET_KEYS = ("id", "prompt", "principle_id", "principle", "foundation", "scenario_index",
                "prompt_round", "rounds", "mean_violation", "violation_rate",
                "violation_source", "selection_mean_violation", "selection_violation_rate",
                "steered", "scores", "judged_by", "perplexity", "fluency_model", "exit_reason",
                "attacker", "target", "judge", "seed", "samples", "threshold", "lineage",
                "run_id")


class BuildSettings(ItemSettings):
    """The dataset builder's own settings (the graph's are in :class:`Context`)."""

    principles: Path | None = Field(None, description="JSONL/CSV principles file.")
    foundations: list[str] = Field(default_factory=list,
                                   description="Use only these foundations.")
    dedup_threshold: float | None = Field(0.9, gt=0, le=1, description=(
        "Cosine similarity at which a prompt is a near-duplicate; null: off."))
    scenarios_per_principle: int = Field(5, ge=1, description=(
        "Scenarios built per principle (MoralPrompt: 2,397 for 522 principles, about 4.6 "
        "after deduplication and the fluency check) [R]."))
    max_perplexity: float | None = Field(None, gt=0, description=(
        "Per-word perplexity above which a prompt is recorded as disfluent and not exported; "
        "null: recorded only (the scale depends on the reference LM)."))


def dataset_row(record: dict[str, Any]) -> dict[str, Any]:
    """The exported MoralPrompt-style row: the prompt and its lineage, not the completions."""
    return {**{k: record.get(k) for k in DATASET_KEYS}, "flagged": "elicits moral violations"}


class DenevilRunner(ItemRunner):
    name = "denevil"
    description = ("DeNEVIL: write scenario prompts that elicit violations of moral principles "
                   "and build a MoralPrompt-style dataset")
    graph_title = "DeNEVIL"
    context_cls = Context
    settings_cls = BuildSettings
    role_fields = ("attacker", "target", "judge")
    graph_module = graph
    demo_params = DEMO_PARAMS
    done_statuses: ClassVar[tuple[str, ...]] = ("ok", "duplicate", "disfluent")

    def items(self, settings: BuildSettings, context: Context) -> list[Item]:
        """(principle, scenario k) items, principle by principle; the kit keeps the first
        ``limit`` of them, so enough principles are chosen to fill it."""
        per = settings.scenarios_per_principle
        wanted = None if settings.limit is None else math.ceil(settings.limit / per)
        try:
            chosen = select_principles(load_principles(settings.principles),
                                       foundations=settings.foundations or None, limit=wanted)
        except KeyError as exc:
            raise ConfigError(f"denevil: params.foundations: {exc.args[0]}") from None
        if not chosen:
            raise ConfigError(f"denevil: no principle of foundation(s) {settings.foundations}")
        return [Item(scenario_item_id(p.id, k),
                     {"principle_id": p.id, "principle": p.text, "foundation": p.foundation,
                      "scenario_index": k}, p)
                for p in chosen for k in range(per)]

    def check(self, settings: BuildSettings, context: Context) -> None:
        self.items(settings, context)
        if context.judge.startswith("classifier/"):
            path = Path(context.judge.removeprefix("classifier/"))
            if not (path / "config.json").is_file():
                raise ConfigError(f"denevil: classifier judge {path} has no config.json; "
                                  "train one with `valuegraph bench train-judge`")

    def record(self, env: RunEnv, settings: BuildSettings, item: Item, result: dict[str, Any],
               context: Context) -> MoralPromptRecord:
        """The principle's record; a near-duplicate of a banked prompt is marked as such."""
        record = MoralPromptRecord(
            id=f"denevil-{item.id}", item_id=item.id, status="ok", run_id=env.run_dir.run_id,
            created=time.time(), principle_metadata=item.data.metadata, **result)
        if settings.max_perplexity is not None and record.perplexity is not None \
                and record.perplexity > settings.max_perplexity:
            return record.model_copy(update={"status": "disfluent"})
        if settings.dedup_threshold is None:
            return record
        bank = context.res.memo("bank", lambda: self._open_bank(env))
        vector = bank.embed([record.prompt])
        match = bank.near_duplicates([record.prompt], settings.dedup_threshold, vector)[0]
        if match is not None and match.id != record.id:
            return record.model_copy(update={"status": "duplicate", "duplicate_of": match.id,
                                             "similarity": round(match.similarity, 4)})
        bank.add([record.id], [record.prompt], [dataset_row(record.model_dump())], vector)
        return record

    @staticmethod
    def _open_bank(env: RunEnv) -> Any:
        from valuegraph.tools.itembank import ItemBank

        return ItemBank(env.run_dir.bank_dir, url=env.cfg.item_bank, collection="denevil")

    def export(self, env: RunEnv, settings: BuildSettings, done: list[dict[str, Any]]
               ) -> list[Path]:
        rows = [dataset_row(r) for r in done if r["status"] == "ok"]
        if not rows:
            return []
        paths = export_records(rows, env.run_dir.exports_dir / DATASET_STEM, settings.formats)
        manifest = dataset_manifest(rows, done, settings, env.cfg.seed)
        path = env.run_dir.exports_dir / MANIFEST_FILE
        write_atomic(path, json.dumps(manifest, indent=1, ensure_ascii=False))
        return [*paths, path]


def scenario_item_id(principle_id: str, k: int) -> str:
    """The item id of a principle's k-th scenario ('#' never occurs in principle ids)."""
    return principle_id if k == 0 else f"{principle_id}#{k}"


def _summary(values: list[float]) -> dict[str, float | int | None]:
    if not values:
        return {"count": 0, "mean": None, "median": None, "min": None, "max": None}
    return {"count": len(values), "mean": statistics.fmean(values),
            "median": statistics.median(values), "min": min(values), "max": max(values)}


def dataset_manifest(rows: list[dict[str, Any]], done: list[dict[str, Any]],
                     settings: BuildSettings, seed: int) -> dict[str, Any]:
    """What the exported dataset is: its size, diversity (Self-BLEU with a fixed number of
    references, distinct-2), fluency (per-word perplexity) and violation figures with their
    source, and what was left out (as MoralPrompt reports Self-BLEU 50.22 and PPL 4.15)."""
    prompts = [r["prompt"] for r in rows]
    bleu = self_bleu_details(prompts, seed=seed)
    scored = [r["perplexity"] for r in rows if r.get("perplexity") is not None]
    per_principle: dict[str, int] = {}
    foundations: dict[str, int] = {}
    for r in rows:
        per_principle[r["principle_id"]] = per_principle.get(r["principle_id"], 0) + 1
        foundations[r["foundation"]] = foundations.get(r["foundation"], 0) + 1
    sources: dict[str, int] = {}
    for r in rows:
        sources[r.get("violation_source") or "selection"] = \
            sources.get(r.get("violation_source") or "selection", 0) + 1
    means = [r["mean_violation"] for r in rows if r.get("mean_violation") is not None]
    rates = [r["violation_rate"] for r in rows if r.get("violation_rate") is not None]
    return {
        "count": len(rows), "principles": len(per_principle),
        "prompts_per_principle": len(rows) / max(1, len(per_principle)),
        "scenarios_per_principle": settings.scenarios_per_principle,
        "foundations": dict(sorted(foundations.items())),
        "excluded": {status: sum(r["status"] == status for r in done)
                     for status in ("duplicate", "disfluent")},
        "self_bleu": bleu.score, "self_bleu_details": bleu.to_json(),
        "distinct_2": distinct_n(prompts, 2), "mean_length": mean_length(prompts),
        "perplexity": {**_summary(scored), "unscored": len(rows) - len(scored),
                       "unit": "per word", "models": sorted(
                           {r["fluency_model"] for r in rows if r.get("fluency_model")})},
        "violation": {"mean_violation": _summary(means), "violation_rate": _summary(rates),
                      "sources": sources},
        "filters": {"dedup_threshold": settings.dedup_threshold,
                    "max_perplexity": settings.max_perplexity},
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


RUNNER = DenevilRunner()
