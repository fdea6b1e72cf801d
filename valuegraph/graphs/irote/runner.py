"""`valuegraph run irote`: one IROTE graph per target trait, on the kit's ItemRunner.

Every trait's best reflection is recorded (a typed
:class:`~valuegraph.graphs.irote.records.ReflectionRecord`) with every set it was chosen from;
the exports hold the best reflection per trait (``reflections``) and every evaluated set
(``reflection_sets``, the authors' output keys: iteration, strs, text, avg_reward,
compactness).

Settings (``--set params.<name>=...``): the fields of :class:`Context` (rounds, initial_sets,
set_size, top_k, distractor_turns, ...), the kit's ``limit`` / ``durability`` / ``formats``,
plus

    theory   schwartz | mft | big_five (default big_five)
    traits   dimension codes or names (default: every dimension of the theory)
    items    JSONL/CSV item file (default: the shipped items); its train split drives the loop
    seeds    JSONL/CSV seed lines (dimension, sentence); default: the optimizer writes them
    demo     true: a quick run (1 trait, 1 round, 2 sets of 3 lines, 2 items) for `local`
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from valuegraph.config import ConfigError
from valuegraph.graphs._shared.runner import Item, ItemRunner, ItemSettings, RunEnv
from valuegraph.graphs.irote import graph
from valuegraph.graphs.irote.context import Context
from valuegraph.graphs.irote.records import ReflectionRecord
from valuegraph.tools.export import export_records
from valuegraph.values.trait_items import (
    dimension_code,
    load_seed_lines,
    load_trait_items,
    select_items,
    theory_of,
)

DEMO_PARAMS: dict[str, Any] = {
    "limit": 1, "rounds": 1, "initial_sets": 2, "set_size": 3, "optimization_beam": 1,
    "k_shot": 1, "summarization_beam": 1, "top_k": 1, "line_orders": 1,
    "distractor_turns": [0], "max_items": 2, "optimizer_max_tokens": 160,
    "embedder": "hashing",
}
"""A demo on the embedded model: one trait, one round, two small sets, two items."""
REFLECTION_KEYS = ("trait_id", "theory", "dimension", "trait_name", "lines", "text", "reward",
                   "evocativeness", "compactness", "set_id", "iteration", "target", "seed",
                   "run_id")


class IroteSettings(ItemSettings):
    """The runner's own settings (the graph's are in :class:`Context`)."""

    theory: Literal["schwartz", "mft", "big_five"] = Field(
        "big_five", description="Trait system.")
    traits: list[str] = Field(default_factory=list, description=(
        "Dimension codes or names to elicit (default: all of the theory)."))
    items: Path | None = Field(None, description="JSONL/CSV item file (train split used).")
    seeds: Path | None = Field(None, description="JSONL/CSV seed lines: dimension, sentence.")


def set_rows(record: dict[str, Any]) -> list[dict[str, Any]]:
    """Every evaluated set of a record, with the authors' output keys."""
    return [{"trait_id": record["trait_id"], "id": s["id"], "iteration": s["iteration"],
             "strs": s["lines"], "text": "\n".join(s["lines"]), "avg_reward": s["reward"],
             "evocativeness": s["evocativeness"], "compactness": s["compactness"],
             "origin": s["origin"], "parent": s["parent"], "run_id": record.get("run_id")}
            for s in record["sets"]]


class IroteRunner(ItemRunner):
    name = "irote"
    description = ("IROTE: optimise a short self-reflection that makes a model embody a target "
                   "trait (Big Five, Schwartz, MFT)")
    graph_title = "IROTE"
    context_cls = Context
    settings_cls = IroteSettings
    role_fields = ("target", "optimizer", "judge")
    graph_module = graph
    demo_params = DEMO_PARAMS

    def items(self, settings: IroteSettings, context: Context) -> list[Item]:
        """One item per trait, with its train items (and seed lines, when given).

        Raises:
            ConfigError: an unknown trait, or a trait without train items.
            FileError: an unreadable or invalid item or seed file (bad rows named by line).
        """
        theory = settings.theory
        try:
            codes = [dimension_code(theory, t) for t in settings.traits] or \
                list(theory_of(theory).codes)
        except KeyError as exc:
            raise ConfigError(f"irote: params.traits: {exc.args[0]}") from None
        items = load_trait_items(settings.items)
        seeds = load_seed_lines(settings.seeds, theory) if settings.seeds else {}
        chosen = []
        for code in dict.fromkeys(codes):
            train = select_items(items, theory, code, "train")
            if not train:
                source = settings.items or "the shipped item set"
                raise ConfigError(f"irote: no train items for {theory}:{code} in {source} "
                                  "(split: train drives the optimisation)")
            chosen.append(Item(f"{theory}-{code}", {
                "theory": theory, "dimension": code,
                "items": [i.to_json() for i in train], "corpus": seeds.get(code, [])}))
        return chosen

    def record(self, env: RunEnv, settings: IroteSettings, item: Item, result: dict[str, Any],
               context: Context) -> ReflectionRecord:
        return ReflectionRecord(id=f"irote-{item.id}", item_id=item.id, run_id=env.run_dir.run_id,
                                created=time.time(), **result)

    def export(self, env: RunEnv, settings: IroteSettings, done: list[dict[str, Any]]
               ) -> list[Path]:
        best = [{k: r.get(k) for k in REFLECTION_KEYS} for r in done]
        sets = [row for r in done for row in set_rows(r)]
        return [*export_records(best, env.run_dir.exports_dir / "reflections", settings.formats),
                *export_records(sets, env.run_dir.exports_dir / "reflection_sets",
                                settings.formats)]


RUNNER = IroteRunner()
