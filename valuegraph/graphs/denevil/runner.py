"""`valuegraph run denevil`: the MoralPrompt-style dataset builder.

One DeNEVIL graph per principle, ``config.concurrency`` at a time, each on its own checkpoint
thread. Every final prompt is appended (fsynced) with its lineage to ``results.jsonl``; prompts
too close to one already in the item bank are recorded as duplicates and left out of the
exported dataset (JSONL, parquet, Hugging Face ``datasets``). A resumed run skips the principles
recorded in ``results.jsonl``, continues unfinished graphs from their checkpoints, and the
completion cache answers every model call that had completed.

Settings (``--set params.<name>=...``): the fields of :class:`Context` (rounds, samples, keep,
threshold, ...) plus

    principles        JSONL/CSV principles file (default: the shipped seed set)
    limit             use only this many principles (round-robin over foundations)
    foundations       use only these foundations (list of codes)
    dedup_threshold   cosine similarity at which a prompt is a near-duplicate (0.9); null: off
    formats           export formats (jsonl, parquet, hf)
    durability        checkpoint writes: exit (one per principle, default), sync (every step
                      before the next), async (every step, in the background)
    demo              true: a quick run (5 principles, T=2, K=3) for the embedded model
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from valuegraph.config import ConfigError, RunConfig
from valuegraph.graphs._shared.runtime import bind_pool, unbind_pool
from valuegraph.graphs.denevil.context import Context
from valuegraph.graphs.denevil.graph import build_graph, recursion_limit
from valuegraph.graphs.denevil.principles import Principle, load_principles, select_principles
from valuegraph.tools.export import FORMATS, export_records
from valuegraph.tools.pool import ModelPool

log = logging.getLogger(__name__)

DESCRIPTION = ("DeNEVIL: write scenario prompts that elicit violations of moral principles and "
               "build a MoralPrompt-style dataset")
DATASET_STEM = "moralprompt"
DONE = ("ok", "duplicate")
DURABILITIES = ("exit", "sync", "async")
DEFAULT_DURABILITY = "exit"
DEMO_PARAMS: dict[str, Any] = {
    "limit": 5, "rounds": 2, "samples": 3, "keep": 2, "rewrites": 2,
    "target_max_tokens": 40, "attacker_max_tokens": 96,
}
"""A demo on the embedded model: one principle per foundation, T = 2, K = 3, short texts."""


@dataclass(frozen=True)
class BuildSettings:
    """The dataset builder's own settings (the graph's are in :class:`Context`)."""

    principles: Path | None = None
    limit: int | None = None
    foundations: tuple[str, ...] = ()
    dedup_threshold: float | None = 0.9
    formats: tuple[str, ...] = FORMATS
    durability: str = DEFAULT_DURABILITY
    """LangGraph durability of each graph. "exit" (the default) writes one checkpoint when the
    principle's graph ends. The builder resumes by principle (``results.jsonl``) and the
    completion cache answers every call a killed principle had completed, so per-step
    checkpoints would buy a resumed run only the CPU of replaying a few steps from the cache;
    they cost about 0.8 ms of CPU per step, which against a fast server is about a quarter of
    the throughput (bench/denevil_throughput.py). "sync" writes every step's checkpoint before the
    next step, to inspect or fork a principle's intermediate steps (``aget_state_history``);
    "async" writes them in the background."""


def settings(cfg: RunConfig) -> tuple[BuildSettings, Context]:
    """Split ``cfg.params`` into builder settings and the graph context.

    Raises:
        ConfigError: unknown or invalid settings, with the allowed ones.
    """
    params = dict(cfg.params)
    if params.pop("demo", False):
        params = {**DEMO_PARAMS, **params}
    own = {name: params.pop(name) for name in list(params) if name in BuildSettings.__annotations__}
    try:
        formats = tuple(own.get("formats", FORMATS))
        bad = sorted(set(formats) - set(FORMATS))
        if bad:
            raise ValueError(f"unknown export format(s) {bad}; allowed: {', '.join(FORMATS)}")
        threshold = own.get("dedup_threshold", 0.9)
        if threshold is not None and not 0 < float(threshold) <= 1:
            raise ValueError(f"dedup_threshold must be in (0, 1] or null, got {threshold}")
        durability = own.get("durability", DEFAULT_DURABILITY)
        if durability not in DURABILITIES:
            raise ValueError(f"durability must be one of {', '.join(DURABILITIES)}, "
                             f"got {durability!r}")
        limit = own.get("limit")
        if limit is not None and (not isinstance(limit, int) or limit < 1):
            raise ValueError(f"limit must be a whole number >= 1, got {limit!r}")
        build = BuildSettings(
            principles=Path(own["principles"]) if own.get("principles") else None,
            limit=limit, foundations=tuple(own.get("foundations") or ()),
            dedup_threshold=None if threshold is None else float(threshold), formats=formats,
            durability=durability)
        for graph_owned in ("attacker", "target", "judge", "api_bases", "seed", "pool_key"):
            if graph_owned in params:
                raise ValueError(f"params.{graph_owned} is set from the run config "
                                 f"(models / api_bases / seed), not from params")
        context = Context.from_mapping({
            **params, "attacker": cfg.models["attacker"], "target": cfg.models["target"],
            "judge": cfg.models["judge"], "api_bases": dict(cfg.api_bases), "seed": cfg.seed,
            "pool_key": cfg.run_id or ""})
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"denevil: {exc}") from None
    return build, context


def principles_for(build: BuildSettings) -> list[Principle]:
    try:
        chosen = select_principles(load_principles(build.principles),
                                   foundations=list(build.foundations) or None,
                                   limit=build.limit)
    except KeyError as exc:
        raise ConfigError(f"denevil: params.foundations: {exc.args[0]}") from None
    if not chosen:
        raise ConfigError(f"denevil: no principle of foundation(s) {list(build.foundations)}")
    return chosen


def validate(cfg: RunConfig) -> None:
    """Reject bad settings or a bad principles file before anything is written."""
    build, context = settings(cfg)
    principles_for(build)
    if context.judge.startswith("classifier/"):
        path = Path(context.judge.removeprefix("classifier/"))
        if not (path / "config.json").is_file():
            raise ConfigError(f"denevil: classifier judge {path} has no config.json; train one "
                              "with `valuegraph bench train-judge`")


def thread_id(principle_id: str) -> str:
    return f"denevil:{principle_id}"


async def run_principle(compiled: Any, principle: Principle, context: Context, *,
                        durability: str = DEFAULT_DURABILITY) -> dict[str, Any]:
    """Run (or continue, or read back) one principle's graph; returns its ``result``."""
    config = {"configurable": {"thread_id": thread_id(principle.id)},
              "recursion_limit": recursion_limit(context)}
    start: dict[str, Any] | None = {"principle_id": principle.id, "principle": principle.text,
                                    "foundation": principle.foundation}
    # Most threads are new: one checkpoint lookup tells, without building a state snapshot.
    if await compiled.checkpointer.aget_tuple(config) is not None:
        snapshot = await compiled.aget_state(config)
        if snapshot.values and not snapshot.next and snapshot.values.get("result"):
            return snapshot.values["result"]
        if snapshot.next:
            start = None  # continue the unfinished graph from its checkpoint
    final = await compiled.ainvoke(start, config, context=context, durability=durability)
    return final["result"]


def dataset_row(record: dict[str, Any]) -> dict[str, Any]:
    """The exported MoralPrompt-style row: the prompt and its lineage, not the completions."""
    keys = ("id", "prompt", "principle_id", "principle", "foundation", "prompt_round", "rounds",
            "mean_violation", "violation_rate", "scores", "judged_by", "exit_reason", "attacker",
            "target", "judge", "seed", "samples", "threshold", "lineage", "run_id")
    return {**{k: record.get(k) for k in keys}, "flagged": "elicits moral violations"}


class DatasetWriter:
    """Appends final prompts to the item bank and results.jsonl, dropping near-duplicates."""

    def __init__(self, run_dir: Any, cfg: RunConfig, threshold: float | None):
        self.results = run_dir.results
        self.run_id = run_dir.run_id
        self.threshold = threshold
        self._bank_dir = run_dir.bank_dir
        self._bank_url = cfg.item_bank
        self._bank: Any = None
        self._lock = asyncio.Lock()

    def _open_bank(self) -> Any:
        if self._bank is None:
            from valuegraph.tools.itembank import ItemBank

            self._bank = ItemBank(self._bank_dir, url=self._bank_url, collection="denevil")
        return self._bank

    def _store(self, principle: Principle, result: dict[str, Any]) -> dict[str, Any]:
        record = {"id": f"denevil-{principle.id}", "status": "ok", "duplicate_of": None,
                  "similarity": None, **result, "principle_metadata": principle.metadata,
                  "run_id": self.run_id, "created": time.time()}
        if self.threshold is not None:
            bank = self._open_bank()
            vector = bank.embed([record["prompt"]])
            match = bank.near_duplicates([record["prompt"]], self.threshold, vector)[0]
            if match is not None and match.id != record["id"]:
                record.update(status="duplicate", duplicate_of=match.id,
                              similarity=round(match.similarity, 4))
            else:
                bank.add([record["id"]], [record["prompt"]], [dataset_row(record)], vector)
        self.results.append(record)
        return record

    async def add(self, principle: Principle, result: dict[str, Any]) -> dict[str, Any]:
        async with self._lock:  # check-then-add must not interleave between principles
            return await asyncio.to_thread(self._store, principle, result)

    def fail(self, principle: Principle, error: BaseException) -> None:
        self.results.append({"id": f"denevil-{principle.id}", "status": "failed",
                             "principle_id": principle.id, "run_id": self.run_id,
                             "error": f"{type(error).__name__}: {error}", "created": time.time()})


def latest_records(records: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The last record per principle (a resumed run appends after earlier failures)."""
    return {r["principle_id"]: r for r in records if "principle_id" in r}


async def run(cfg: RunConfig, run_dir: Any, pool: ModelPool, progress: Any) -> dict[str, Any]:
    """Build the dataset; resumable. Returns the run's summary."""
    from valuegraph.tools.checkpoint import open_checkpointer

    cfg = cfg.model_copy(update={"run_id": run_dir.run_id})
    build, context = settings(cfg)
    principles = principles_for(build)
    previous = latest_records(run_dir.results.read())
    todo = [p for p in principles if previous.get(p.id, {}).get("status") not in DONE]
    writer = DatasetWriter(run_dir, cfg, build.dedup_threshold)
    counts = {"ok": 0, "duplicate": 0, "failed": 0, "skipped_budget": 0}
    task = progress.add_task("denevil", total=len(principles),
                             completed=len(principles) - len(todo), info="")
    log.info("denevil: %d principles, %d to do", len(principles), len(todo))

    def over_budget() -> bool:
        return cfg.budget is not None and pool.usage.total_calls >= cfg.budget

    bind_pool(context.pool_key, pool)
    try:
        async with open_checkpointer(cfg.checkpointer, run_dir.root) as saver:
            compiled = build_graph().compile(checkpointer=saver, name="DeNEVIL")
            gate = asyncio.Semaphore(cfg.concurrency)

            async def one(principle: Principle) -> None:
                async with gate:
                    if over_budget():
                        counts["skipped_budget"] += 1
                        return
                    try:
                        result = await run_principle(compiled, principle, context,
                                                     durability=build.durability)
                        record = await writer.add(principle, result)
                        counts[record["status"]] += 1
                    except Exception as exc:  # noqa: BLE001 - recorded; resume retries it
                        log.warning("principle %s failed: %s: %s", principle.id,
                                    type(exc).__name__, exc)
                        writer.fail(principle, exc)
                        counts["failed"] += 1
                    progress.update(task, advance=1, info=(
                        f"ok {counts['ok']} dup {counts['duplicate']} failed {counts['failed']}"
                        f" calls {pool.usage.total_calls}"))

            await asyncio.gather(*(one(p) for p in todo))
    finally:
        unbind_pool(context.pool_key)

    final = latest_records(run_dir.results.read())
    rows = [dataset_row(final[p.id]) for p in principles
            if final.get(p.id, {}).get("status") == "ok"]
    paths = export_records(rows, run_dir.exports_dir / DATASET_STEM, build.formats) if rows else []
    return {
        "principles": len(principles), "resumed_done": len(principles) - len(todo), **counts,
        "dataset_size": len(rows), "exports": [str(p) for p in paths],
        "context": {k: v for k, v in vars(context).items() if k != "api_bases"},
    }
