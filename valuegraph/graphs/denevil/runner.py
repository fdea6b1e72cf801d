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

import time
from pathlib import Path
from typing import Any, ClassVar

from pydantic import Field

from valuegraph.config import ConfigError
from valuegraph.graphs._shared.records import MoralPromptRecord
from valuegraph.graphs._shared.runner import Item, ItemRunner, ItemSettings, RunEnv
from valuegraph.graphs.denevil.context import Context
from valuegraph.graphs.denevil.graph import build_graph, recursion_limit
from valuegraph.graphs.denevil.principles import load_principles, select_principles
from valuegraph.tools.export import export_records

DATASET_STEM = "moralprompt"
DEMO_PARAMS: dict[str, Any] = {
    "limit": 5, "rounds": 2, "samples": 3, "keep": 2, "rewrites": 2,
    "target_max_tokens": 40, "attacker_max_tokens": 96,
}
"""A demo on the embedded model: one principle per foundation, T = 2, K = 3, short texts."""
DATASET_KEYS = ("id", "prompt", "principle_id", "principle", "foundation", "prompt_round",
                "rounds", "mean_violation", "violation_rate", "scores", "judged_by",
                "exit_reason", "attacker", "target", "judge", "seed", "samples", "threshold",
                "lineage", "run_id")


class BuildSettings(ItemSettings):
    """The dataset builder's own settings (the graph's are in :class:`Context`)."""

    principles: Path | None = Field(None, description="JSONL/CSV principles file.")
    foundations: list[str] = Field(default_factory=list,
                                   description="Use only these foundations.")
    dedup_threshold: float | None = Field(0.9, gt=0, le=1, description=(
        "Cosine similarity at which a prompt is a near-duplicate; null: off."))


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
    done_statuses: ClassVar[tuple[str, ...]] = ("ok", "duplicate")

    def expand_params(self, params: dict[str, Any]) -> dict[str, Any]:
        if params.pop("demo", False):
            return {**DEMO_PARAMS, **params}
        return params

    def build_graph(self) -> Any:
        return build_graph()

    def recursion_limit(self, context: Context) -> int:
        return recursion_limit(context)

    def items(self, settings: BuildSettings, context: Context) -> list[Item]:
        try:
            chosen = select_principles(load_principles(settings.principles),
                                       foundations=settings.foundations or None,
                                       limit=settings.limit)
        except KeyError as exc:
            raise ConfigError(f"denevil: params.foundations: {exc.args[0]}") from None
        if not chosen:
            raise ConfigError(f"denevil: no principle of foundation(s) {settings.foundations}")
        return [Item(p.id, {"principle_id": p.id, "principle": p.text,
                            "foundation": p.foundation}, p) for p in chosen]

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
        return export_records(rows, env.run_dir.exports_dir / DATASET_STEM, settings.formats)


RUNNER = DenevilRunner()
