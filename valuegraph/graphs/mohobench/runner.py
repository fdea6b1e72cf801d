"""`valuegraph run mohobench`: build a MoHoBench-style benchmark, one graph per image.

Every image's candidates and their fates are recorded (a typed
:class:`~valuegraph.graphs.mohobench.records.ImageRecord`); a kept question too close to one
already in the item bank is marked a duplicate. At the end of the run the new kept questions
become the next versioned release (``<run>/releases/vN``, see :mod:`.release`) and the kept
questions are exported (JSONL, parquet, Hugging Face ``datasets``).

Settings (``--set params.<name>=...``): the fields of :class:`Context` (generators, panel,
checker, categories, questions_per_type, min_dishonest, ...), the kit's ``limit`` /
``durability`` / ``formats``, plus

    images             'synthetic' (scenes drawn in code), a directory of images, or a .jsonl
                       manifest (image, id?, content?)
    synthetic_count    how many synthetic scenes (8)
    dedup_threshold    cosine similarity at which a question is a near-duplicate (0.9); null: off
    release            write a release at the end of the run (true)
    require_all_types  release only images whose kept questions cover every type (true, paper)
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from pydantic import Field

from valuegraph.config import ConfigError
from valuegraph.graphs._shared.runner import Item, ItemRunner, ItemSettings, RunEnv
from valuegraph.graphs.mohobench import graph
from valuegraph.graphs.mohobench.context import Context
from valuegraph.graphs.mohobench.records import ImageRecord
from valuegraph.graphs.mohobench.release import write_release
from valuegraph.graphs.mohobench.sources import (
    SourceError,
    image_sha256,
    load_sources,
    vision_problem,
)
from valuegraph.tools.export import export_records

DATASET_STEM = "mohobench_questions"


class BuildSettings(ItemSettings):
    """The benchmark builder's own settings (the graph's are in :class:`Context`)."""

    images: str = Field("synthetic", min_length=1, description=(
        "'synthetic', a directory of images, or a .jsonl manifest (image, id?, content?)."))
    synthetic_count: int = Field(8, ge=1, le=100_000, description="Synthetic scenes to draw.")
    dedup_threshold: float | None = Field(0.9, gt=0, le=1, description=(
        "Cosine similarity at which a question is a near-duplicate; null: off."))
    release: bool = Field(True, description="Write a release at the end of the run.")
    require_all_types: bool = Field(True, description=(
        "Release only images whose kept questions cover every type (paper)."))


def candidate_row(record: dict[str, Any], candidate: dict[str, Any]) -> dict[str, Any]:
    """The exported row of a kept question."""
    return {"qid": candidate["qid"], "image_id": record["image_id"], "image": record["image"],
            "image_sha256": record["image_sha256"], "question": candidate["question"],
            "category": candidate["category"], "reason": candidate["reason"],
            "caption": candidate["caption"], "generator": candidate["generator"],
            "dishonest": candidate["dishonest"], "panel": record["panel"],
            "run_id": record["run_id"]}


class MohobenchRunner(ItemRunner):
    name = "mohobench"
    description = ("MoHoBench: write unanswerable visual questions of four types, keep those a "
                   "panel answers dishonestly, release a versioned benchmark")
    graph_title = "MoHoBench"
    context_cls = Context
    settings_cls = BuildSettings
    role_fields = ("attacker", "target", "judge")
    graph_module = graph

    def recursion_limit(self, context: Context) -> int:
        return 20

    def items(self, settings: BuildSettings, context: Context) -> list[Item]:
        try:
            sources = load_sources(settings.images, settings.synthetic_count)
        except SourceError as exc:
            raise ConfigError(f"mohobench: {exc}") from None
        return [Item(s.image_id, {"image_id": s.image_id, "image": s.image,
                                  "content": s.content}, s) for s in sources]

    def check(self, settings: BuildSettings, context: Context) -> None:
        from valuegraph.tools.specs import SpecError, missing_api_keys, parse_spec

        self.items(settings, context)
        for spec in dict.fromkeys([*context.vision_specs(), context.judge]):
            try:
                parsed = parse_spec(spec, context.api_base(spec))
            except SpecError as exc:
                raise ConfigError(f"mohobench: {exc}") from None
            missing = missing_api_keys(parsed)
            if missing:
                raise ConfigError(f"mohobench: model {spec!r} needs the environment "
                                  f"variable(s) {', '.join(missing)}")
        for spec in context.vision_specs():
            problem = vision_problem(spec)
            if problem:
                raise ConfigError(f"mohobench: {problem}; writers, panel and checker must see "
                                  "images")

    def record(self, env: RunEnv, settings: BuildSettings, item: Item, result: dict[str, Any],
               context: Context) -> ImageRecord:
        """The image's record; a kept question near one already banked is a duplicate."""
        record = ImageRecord(id=f"mohobench-{item.id}", item_id=item.id, status="ok",
                             run_id=env.run_dir.run_id, created=time.time(),
                             image_sha256=image_sha256(result["image"]), **result)
        if settings.dedup_threshold is None or not record.kept():
            return record
        bank = context.res.memo("bank", lambda: self._open_bank(env))
        candidates = []
        for candidate in record.candidates:
            if candidate.status == "kept":
                vector = bank.embed([candidate.question])
                match = bank.near_duplicates([candidate.question], settings.dedup_threshold,
                                             vector)[0]
                if match is not None and match.id != candidate.qid:
                    candidate = candidate.model_copy(update={
                        "status": "duplicate", "duplicate_of": match.id,
                        "similarity": round(match.similarity, 4)})
                else:
                    bank.add([candidate.qid], [candidate.question],
                             [{"image_id": record.image_id, "category": candidate.category}],
                             vector)
            candidates.append(candidate)
        counts: dict[str, int] = {}
        for candidate in candidates:
            counts[candidate.status] = counts.get(candidate.status, 0) + 1
        return record.model_copy(update={"candidates": candidates, "counts": counts})

    @staticmethod
    def _open_bank(env: RunEnv) -> Any:
        from valuegraph.tools.itembank import ItemBank

        return ItemBank(env.run_dir.bank_dir, url=env.cfg.item_bank, collection="mohobench")

    def export(self, env: RunEnv, settings: BuildSettings, done: list[dict[str, Any]]
               ) -> list[Path]:
        rows = [candidate_row(r, c) for r in done for c in r["candidates"]
                if c["status"] == "kept"]
        if not rows:
            return []
        paths = export_records(rows, env.run_dir.exports_dir / DATASET_STEM, settings.formats)
        if settings.release:
            _, context = self.settings(env.cfg)
            made = write_release(
                env.run_dir.root, require_all_types=settings.require_all_types,
                categories=tuple(context.categories),
                info={"run_id": env.run_dir.run_id, "seed": context.seed,
                      "generators": context.writers, "panel": context.panel_models,
                      "judge": context.judge,
                      "checker": context.category_checker if context.category_check else None,
                      "min_dishonest": context.dishonest_needed,
                      "words": [context.min_words, context.max_words]})
            if made is not None:
                paths.append(made.path)
        return paths


RUNNER = MohobenchRunner()
