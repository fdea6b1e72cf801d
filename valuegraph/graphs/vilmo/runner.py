"""`valuegraph run vilmo`: one VILMO graph per scenario of a MoralPrompt-style dataset.

Every finished scenario is recorded (a typed :class:`InstructionRecord` with the lineage of its
instructions and their scores) and exported to ``exports/instructions.jsonl`` (plus parquet and
a Hugging Face dataset), the file ``bench moral --intervention`` reads.

Settings (``--set params.<name>=...``): the fields of :class:`Context` (rounds, samples,
threshold, patience, placement, ...), the kit's ``limit`` / ``durability`` / ``formats``, plus

    dataset       a DeNEVIL run directory (its exports/moralprompt.jsonl) or a JSONL/CSV file
                  of prompts (prompt, principle, foundation, id?) - required
    foundations   use only these foundations (list of codes)
    demo          true: a quick run (5 prompts, T=1, K=3, short texts) for the embedded model

The generator is the run config's ``models.optimizer``; the target and judge are
``models.target`` and ``models.judge``.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from pydantic import Field

from valuegraph.config import ConfigError, RunConfig
from valuegraph.graphs._shared.moral_prompts import MoralPrompt, load_moral_prompts
from valuegraph.graphs._shared.runner import Item, ItemRunner, ItemSettings, RunEnv
from valuegraph.graphs.vilmo import graph
from valuegraph.graphs.vilmo.context import Context
from valuegraph.graphs.vilmo.records import INSTRUCTIONS_STEM, InstructionRecord, export_row
from valuegraph.tools.export import export_records
from valuegraph.values.theories import foundation_code

DEMO_PARAMS: dict[str, Any] = {"limit": 5, "rounds": 1, "samples": 3, "target_max_tokens": 40,
                               "generator_max_tokens": 80}
"""A demo on the embedded model: 5 prompts, T = 1, K = 3, short texts."""


class VilmoSettings(ItemSettings):
    """The runner's own settings (the graph's are in :class:`Context`)."""

    dataset: Path | None = Field(None, description=(
        "A DeNEVIL run directory or a JSONL/CSV MoralPrompt file (prompt, principle, "
        "foundation, id?)."))
    foundations: list[str] = Field(default_factory=list,
                                   description="Use only these foundations.")


class VilmoRunner(ItemRunner):
    name = "vilmo"
    description = ("VILMO: learn a prompt-specific value instruction per scenario that lowers "
                   "the target's violations (in-context alignment)")
    graph_title = "VILMO"
    context_cls = Context
    settings_cls = VilmoSettings
    role_fields = ("target", "judge")
    graph_module = graph
    demo_params = DEMO_PARAMS

    def run_config_values(self, cfg: RunConfig) -> dict[str, Any]:
        """The generator is the run config's optimizer role."""
        return {**super().run_config_values(cfg), "generator": cfg.models["optimizer"]}

    def prompts(self, settings: VilmoSettings) -> list[MoralPrompt]:
        """The dataset's prompts of the chosen foundations, in file order.

        Raises:
            ConfigError: no dataset, an unreadable or malformed one, an unknown foundation, or
                no prompt left.
        """
        if settings.dataset is None:
            raise ConfigError("vilmo: params.dataset is required: a DeNEVIL run directory or "
                              "a JSONL/CSV file of prompts (prompt, principle, foundation, id?)")
        try:
            chosen = load_moral_prompts(settings.dataset)
            wanted = {foundation_code(f) for f in settings.foundations}
        except KeyError as exc:
            raise ConfigError(f"vilmo: params.foundations: {exc.args[0]}") from None
        except ValueError as exc:  # FileError included
            raise ConfigError(f"vilmo: params.dataset: {exc}") from None
        if wanted:
            chosen = [p for p in chosen if p.foundation in wanted]
        if not chosen:
            raise ConfigError(f"vilmo: no prompt of foundation(s) {settings.foundations}")
        return chosen

    def items(self, settings: VilmoSettings, context: Context) -> list[Item]:
        return [Item(p.id, {"prompt_id": p.id, "scenario": p.prompt, "principle": p.principle,
                            "foundation": p.foundation}, p) for p in self.prompts(settings)]

    def check(self, settings: VilmoSettings, context: Context) -> None:
        self.items(settings, context)
        if context.judge.startswith("classifier/"):
            path = Path(context.judge.removeprefix("classifier/"))
            if not (path / "config.json").is_file():
                raise ConfigError(f"vilmo: classifier judge {path} has no config.json; "
                                  "train one with `valuegraph bench train-judge`")

    def record(self, env: RunEnv, settings: VilmoSettings, item: Item, result: dict[str, Any],
               context: Context) -> InstructionRecord:
        return InstructionRecord(id=f"vilmo-{item.id}", item_id=item.id, status="ok",
                                 run_id=env.run_dir.run_id, created=time.time(), **result)

    def export(self, env: RunEnv, settings: VilmoSettings, done: list[dict[str, Any]]
               ) -> list[Path]:
        rows = [export_row(r) for r in done]
        return export_records(rows, env.run_dir.exports_dir / INSTRUCTIONS_STEM,
                              settings.formats)


RUNNER = VilmoRunner()
