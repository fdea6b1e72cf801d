"""Runners: how a loop runs as ``valuegraph run <graph>`` (or ``valuegraph.run_graph``).

A runner turns a :class:`~valuegraph.config.RunConfig` into the loop's settings and context
(:meth:`LoopRunner.settings`), checks them before anything is written
(:meth:`LoopRunner.validate`), and runs the loop in a run directory (:meth:`LoopRunner.run`).
:func:`execute_run` is the one preamble around every run: the run log, the pool with the run's
completion cache, one process per run directory (an OS lock), the status file, the budget
counted over every process of the run, and the exit state.

Two shapes of loop are provided: :class:`ItemRunner` runs one graph per item (a principle, a
scenario, an image), ``concurrency`` at a time, each on its own checkpoint thread, and resumes
by item; AdAEM's growth runner chains segments of one long graph (``segments.py``).
"""

from __future__ import annotations

import asyncio
import dataclasses
import fcntl
import gc
import logging
import os
import time
from collections import Counter
from collections.abc import Awaitable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from valuegraph.config import ROLES, ConfigError, RunConfig
from valuegraph.graphs._shared.context import LoopContext, one_line
from valuegraph.graphs._shared.records import (
    FailureRecord,
    ItemRecord,
    RecordLog,
    latest_by_item,
)
from valuegraph.graphs._shared.resources import Resources
from valuegraph.tools.checkpoint import open_checkpointer
from valuegraph.tools.files import FileError
from valuegraph.tools.limits import AdaptiveLimiter, LatencyConcurrency
from valuegraph.tools.pool import ModelPool, closing
from valuegraph.tools.progress import NullProgress
from valuegraph.tools.rundir import RunDir

log = logging.getLogger(__name__)
T = TypeVar("T")

LOCK_FILE = "run.lock"
IN_FLIGHT_INTERVAL_S = 1.0
"""How often a run records the requests it has in flight (``status.json``: ``in_flight``)."""
ADAPTIVE_START, ADAPTIVE_MAX = 4, 256
"""Graphs in flight under the default (adaptive) concurrency: where it starts, its ceiling."""
EXIT_CODES = {"done": 0, "failed": 1, "incomplete": 3, "interrupted": 130}
"""Exit status of ``valuegraph run`` per end state (2 is bad input, before any work)."""


class RunnerSettings(BaseModel):
    """A runner's own settings (``params`` that are not the graph's context)."""

    model_config = ConfigDict(extra="forbid")


# -- the run environment ---------------------------------------------------------------------

@dataclass
class RunEnv:
    """What a runner gets: the config, the run directory, the pool, progress, the budget."""

    cfg: RunConfig
    run_dir: RunDir
    pool: ModelPool
    progress: Any = field(default_factory=NullProgress)
    requests_before: int = 0
    """Requests sent by earlier processes of this run."""

    @property
    def requests_total(self) -> int:
        return self.requests_before + self.pool.usage.total_calls

    def budget_left(self) -> int | None:
        if self.cfg.budget is None:
            return None
        return max(0, self.cfg.budget - self.requests_total)

    def over_budget(self) -> bool:
        left = self.budget_left()
        return left is not None and left <= 0

    def report(self, **fields: Any) -> None:
        """Write the live status (after each item or step): spend so far and progress."""
        self.run_dir.set_status("running", graph=self.cfg.graph,
                                requests_total=self.requests_total,
                                cache_hits=self.pool.usage.total_cache_hits,
                                usage=self.pool.usage.to_json(), **fields)


class RunLock:
    """One process per run directory (an OS lock, released even by SIGKILL)."""

    def __init__(self, root: Path):
        self.path = Path(root) / LOCK_FILE
        self.handle: Any = None

    def __enter__(self) -> RunLock:
        self.handle = open(self.path, "a+")  # noqa: SIM115 - held for the run
        try:
            fcntl.flock(self.handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self.handle.close()
            raise ConfigError(f"run {self.path.parent} is in use by another process") from None
        return self

    def __exit__(self, *exc: object) -> None:
        fcntl.flock(self.handle, fcntl.LOCK_UN)
        self.handle.close()


# -- the runner base -------------------------------------------------------------------------

class LoopRunner:
    """Settings, validation and the run of one registered loop."""

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    context_cls: ClassVar[type[LoopContext]] = LoopContext
    settings_cls: ClassVar[type[RunnerSettings]] = RunnerSettings
    role_fields: ClassVar[tuple[str, ...]] = ()
    """Context fields that name the model of the run config's role of the same name."""
    graph_module: ClassVar[Any] = None
    """The loop's ``graph`` module, when it defines ``build_graph()`` and
    ``recursion_limit(context)``: the runner's hooks of the same names call them."""
    default_recursion_limit: ClassVar[int] = 200
    """LangGraph's recursion limit when :attr:`graph_module` has no ``recursion_limit``."""
    demo_params: ClassVar[Mapping[str, Any] | None] = None
    """The preset that ``params.demo: true`` applies (params given beside it win)."""

    # -- settings --------------------------------------------------------------------------

    def run_config_values(self, cfg: RunConfig) -> dict[str, Any]:
        """Context values that come from the run config (models, api_bases, seed)."""
        values: dict[str, Any] = {role: cfg.models[role] for role in self.role_fields
                                  if role in ROLES}
        return {**values, "api_bases": dict(cfg.api_bases), "seed": cfg.seed}

    def expand_params(self, params: dict[str, Any]) -> dict[str, Any]:
        """Hook: rewrite ``params`` before they are split; here ``demo: true`` applies
        :attr:`demo_params`."""
        if self.demo_params is not None and params.pop("demo", False):
            return {**self.demo_params, **params}
        return params

    def build_graph(self) -> Any:
        """The loop's uncompiled ``StateGraph``."""
        if self.graph_module is None:
            raise NotImplementedError
        return self.graph_module.build_graph()

    def recursion_limit(self, context: Any) -> int:
        """LangGraph's recursion limit for one graph run of ``context``."""
        if self.graph_module is None or not hasattr(self.graph_module, "recursion_limit"):
            return self.default_recursion_limit
        return self.graph_module.recursion_limit(context)

    def settings(self, cfg: RunConfig) -> tuple[Any, Any]:
        """Split ``cfg.params`` into the runner's settings and the graph context.

        Raises:
            ConfigError: an unknown or invalid setting (one line, with what is allowed).
        """
        params = self.expand_params(dict(cfg.params))
        own_names = set(self.settings_cls.model_fields)
        own = {k: params.pop(k) for k in list(params) if k in own_names}
        from_config = self.run_config_values(cfg)
        clash = sorted(set(params) & (set(from_config) | {"resources"}))
        if clash:
            raise ConfigError(f"{self.name}: params.{clash[0]} is set from the run config "
                              "(models, api_bases, seed), not from params")
        unknown = sorted(set(params) - set(self.context_cls.field_names()))
        if unknown:
            allowed = sorted({*self.context_cls.field_names(), *own_names} - set(from_config))
            raise ConfigError(f"{self.name}: unknown setting(s) {unknown}; allowed: "
                              f"{', '.join(allowed)}")
        try:
            settings = self.settings_cls.model_validate(own)
        except ValidationError as exc:
            raise ConfigError(one_line(exc, self.name)) from None
        context = self.context_cls.from_settings({**params, **from_config})
        return settings, context

    def check(self, settings: Any, context: Any) -> None:
        """Hook: reject bad input files or model choices before anything is written."""

    def validate(self, cfg: RunConfig) -> None:
        settings, context = self.settings(cfg)
        self.check(settings, context)

    def bind(self, context: Any, env: RunEnv) -> Any:
        """The context with this run's resources (the pool with its cache, stores)."""
        return dataclasses.replace(context, resources=Resources(env.pool, env.run_dir.root))

    async def run(self, env: RunEnv) -> dict[str, Any]:
        """Run (or continue) the loop; returns the summary, with ``state`` done, failed or
        incomplete."""
        raise NotImplementedError


# -- the one preamble ------------------------------------------------------------------------

@dataclass
class RunOutcome:
    """How a run ended."""

    run_id: str
    root: Path
    state: str
    summary: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    seconds: float = 0.0

    @property
    def exit_code(self) -> int:
        return EXIT_CODES.get(self.state, 1)


def make_pool(cfg: RunConfig, cache_dir: Path | None) -> ModelPool:
    """The pool of a run: the run's completion cache (unless ``cache: false``), its servers
    (``api_bases``, and the ones it starts and owns: ``servers``)."""
    return ModelPool(cache_dir if cfg.cache else None, api_bases=cfg.api_bases,
                     servers=cfg.servers)


def execute_run(runner: LoopRunner, cfg: RunConfig, run_dir: RunDir, *,
                progress: Any = None) -> RunOutcome:
    """Run ``runner`` in ``run_dir`` (new or resumed) and record how it ended.

    Raises:
        ConfigError: the run directory is in use by another process.
    """
    with RunLock(run_dir.root):
        handler = run_dir.attach_log()
        try:
            pool = make_pool(cfg, run_dir.cache_dir)
        except (ConfigError, RuntimeError) as exc:  # servers of the run that did not start
            logging.getLogger("valuegraph").removeHandler(handler)
            run_dir.set_status("failed", graph=cfg.graph, error=str(exc))
            return RunOutcome(run_dir.run_id, run_dir.root, "failed", error=str(exc))
        env = RunEnv(cfg, run_dir, pool, progress or NullProgress(), run_dir.requests_before())
        before = run_dir.status()  # advisory counts: anything else than a list / count is 0
        in_flight = before.get("in_flight")
        pool.expect_resent([k for k in in_flight if isinstance(k, str)]
                           if isinstance(in_flight, list) else [])
        resent_before = before.get("resent") if isinstance(before.get("resent"), int) else 0
        run_dir.set_status("running", graph=cfg.graph, pid=os.getpid())
        started = time.monotonic()
        # What is alive now (imported packages, the pool) lives as long as the run: moved out
        # of the collector's sight, it is not rescanned by every full collection (about 0.4 s
        # each with litellm and chromadb loaded) during a run that may last days.
        gc.collect()
        gc.freeze()
        state, error, summary = "done", None, {}
        try:
            summary = asyncio.run(closing(pool, recording_in_flight(env, runner.run(env))))
            state = summary.get("state", "done")
        except KeyboardInterrupt:
            state = "interrupted"
        except (ConfigError, FileError) as exc:
            state, error = "failed", str(exc)
        except Exception as exc:  # noqa: BLE001 - recorded in the status; resume retries
            logging.getLogger("valuegraph").exception("run failed")
            state, error = "failed", f"{type(exc).__name__}: {exc}"
        finally:
            gc.unfreeze()  # an in-process caller (tests, notebooks) collects them again
            pool.close()
            logging.getLogger("valuegraph").removeHandler(handler)
        seconds = time.monotonic() - started
        extra = {"error": error} if error else {}
        run_dir.set_status(state, summary=summary, usage=pool.usage.to_json(),
                           requests_total=env.requests_total,
                           cache_hits=pool.usage.total_cache_hits, seconds=seconds,
                           in_flight=pool.in_flight(), resent=resent_before + pool.resent,
                           **extra)
    return RunOutcome(run_dir.run_id, run_dir.root, state, summary, error, seconds)


async def recording_in_flight(env: RunEnv, work: Awaitable[T]) -> T:
    """Await ``work`` while recording, every :data:`IN_FLIGHT_INTERVAL_S`, the cache keys of
    the requests in flight (``status.json``: ``in_flight``). A killed run's replies to those
    never reached the cache; the resumed run sends them again and counts them (``resent``)."""

    async def record() -> None:
        last: list[str] = []
        while True:
            await asyncio.sleep(IN_FLIGHT_INTERVAL_S)
            now = env.pool.in_flight()
            if now or last:
                env.run_dir.update_status(in_flight=now)
            last = now

    recorder = asyncio.create_task(record())
    try:
        return await work
    finally:
        recorder.cancel()


# -- one graph per item ----------------------------------------------------------------------

class ItemSettings(RunnerSettings):
    """Settings of every per-item runner."""

    limit: int | None = Field(None, ge=1, description="Use only the first N items.")
    durability: Literal["exit", "sync", "async"] = Field(
        "exit", description="Checkpoint writes: 'exit' one per item when its graph ends "
        "(default; a killed item replays its finished requests from the cache), 'sync' every "
        "step before the next, 'async' every step in the background.")
    formats: list[Literal["jsonl", "parquet", "hf"]] = Field(
        default_factory=lambda: ["jsonl", "parquet", "hf"], description="Export formats.")


@dataclass(frozen=True)
class Item:
    """One unit of a per-item loop: its id (checkpoint thread, resume key), the graph's input,
    and the loop's own object for it."""

    id: str
    input: Mapping[str, Any]
    data: Any = None


def graph_gate(env: RunEnv, finished: Any = lambda: 0
               ) -> tuple[AdaptiveLimiter, LatencyConcurrency | None]:
    """The limit on graphs in flight: ``cfg.concurrency`` when set (fixed), else adaptive.

    Adaptive (the default) starts at 4 graphs and follows the latency of the run's requests
    (:class:`~valuegraph.tools.limits.LatencyConcurrency`): it grows while the servers answer
    as fast as with fewer graphs, up to 256, backs off when they slow down (not below 4) and
    halves on a rate limit. With a budget, graphs in flight are held to what the requests left
    can pay for, at the requests per graph finished so far (``finished()``), so a run stops
    close to its budget however far the limit grew.
    """
    if env.cfg.concurrency is not None:
        return AdaptiveLimiter(env.cfg.concurrency), None
    limiter = AdaptiveLimiter(ADAPTIVE_MAX)

    def ceiling() -> int:
        left = env.budget_left()
        if left is None:
            return ADAPTIVE_MAX
        done = finished()
        if not done:
            return ADAPTIVE_START
        # graphs this process can pay for in all, at the requests per graph seen so far,
        # less those already finished: what may be in flight
        calls = env.pool.usage.total_calls
        return int((calls + left) / max(1.0, calls / done)) - done

    return limiter, LatencyConcurrency(limiter, initial=ADAPTIVE_START, ceiling=ceiling)


class ItemRunner(LoopRunner):
    """One graph per item, ``concurrency`` at a time (adaptive by default: :func:`graph_gate`);
    records in ``results.jsonl``; resumable.

    A resumed run skips items whose last record is done (:attr:`done_statuses`), continues an
    unfinished graph from its checkpoint, and its finished requests come from the cache.
    Subclasses give the graph, the items and the record of a result.
    """

    settings_cls: ClassVar[type[RunnerSettings]] = ItemSettings
    done_statuses: ClassVar[tuple[str, ...]] = ("ok",)
    graph_title: ClassVar[str] = ""

    def items(self, settings: Any, context: Any) -> list[Item]:
        raise NotImplementedError

    def record(self, env: RunEnv, settings: Any, item: Item, result: dict[str, Any],
               context: Any) -> ItemRecord:
        """The typed record of an item's result (runs in a worker thread, one at a time)."""
        raise NotImplementedError

    def export(self, env: RunEnv, settings: Any, done: list[dict[str, Any]]) -> list[Path]:
        """Hook: write the run's exports from the done records (in item order)."""
        return []

    def check(self, settings: Any, context: Any) -> None:
        if not self.items(settings, context):
            raise ConfigError(f"{self.name}: no items to run")

    def thread_id(self, item: Item) -> str:
        return f"{self.name}:{item.id}"

    async def run_item(self, compiled: Any, item: Item, context: Any,
                       durability: str = "exit") -> dict[str, Any]:
        """Run (or continue, or read back) one item's graph; returns its ``result``."""
        config = {"configurable": {"thread_id": self.thread_id(item)},
                  "recursion_limit": self.recursion_limit(context)}
        start: Mapping[str, Any] | None = item.input
        # Most threads are new: one checkpoint lookup tells, without building a snapshot.
        if await compiled.checkpointer.aget_tuple(config) is not None:
            snapshot = await compiled.aget_state(config)
            if snapshot.values and not snapshot.next and snapshot.values.get("result"):
                return snapshot.values["result"]
            if snapshot.next:
                start = None  # continue the unfinished graph from its checkpoint
        final = await compiled.ainvoke(start, config, context=context, durability=durability)
        return final["result"]

    async def run(self, env: RunEnv) -> dict[str, Any]:
        settings, context = self.settings(env.cfg)
        items = self.items(settings, context)
        if settings.limit is not None:
            items = items[: settings.limit]
        context = self.bind(context, env)
        results = RecordLog(env.run_dir.results_path, writer=True)
        previous = latest_by_item(results)
        todo = [i for i in items if previous.get(i.id, {}).get("status") not in self.done_statuses]
        counts: Counter[str] = Counter()
        task = env.progress.add_task(self.name, total=len(items),
                                     completed=len(items) - len(todo), info="")
        log.info("%s: %d items, %d to do", self.name, len(items), len(todo))
        lock = asyncio.Lock()

        async with open_checkpointer(env.cfg.checkpointer, env.run_dir.root) as saver:
            compiled = self.build_graph().compile(checkpointer=saver,
                                                  name=self.graph_title or self.name)
            gate, adaptive = graph_gate(env, lambda: counts.total() - counts["skipped_budget"])
            if adaptive is not None:
                env.pool.observers.append(adaptive)

            async def one(item: Item) -> None:
                async with gate.slot():
                    if env.over_budget():
                        counts["skipped_budget"] += 1
                        return
                    try:
                        result = await self.run_item(compiled, item, context,
                                                     settings.durability)
                        async with lock:  # records that compare with earlier ones: one at a time
                            made = await asyncio.to_thread(self.record, env, settings, item,
                                                           result, context)
                            if not made.run_id:
                                made = made.model_copy(update={"run_id": env.run_dir.run_id})
                            results.append(made)
                        counts[made.status] += 1
                    except Exception as exc:  # noqa: BLE001 - recorded; resume retries it
                        log.warning("%s %s failed: %s: %s", self.name, item.id,
                                    type(exc).__name__, exc)
                        results.append(FailureRecord(
                            id=f"{self.name}-{item.id}", item_id=item.id,
                            run_id=env.run_dir.run_id, error=f"{type(exc).__name__}: {exc}"))
                        counts["failed"] += 1
                    shown = " ".join(f"{k} {v}" for k, v in sorted(counts.items()))
                    env.progress.update(task, advance=1,
                                        info=f"{shown} requests {env.requests_total}")
                    env.report(progress=dict(counts))
                    if adaptive is not None:  # before the slot frees: a waiter enters only
                        adaptive.clamp()      # if what is left pays for it

            try:
                await asyncio.gather(*(one(i) for i in todo))
            finally:
                if adaptive is not None:
                    env.pool.observers.remove(adaptive)
                    log.info("%s: adaptive concurrency peaked at %d graphs in flight "
                             "(%d rate limits)", self.name, adaptive.peak, adaptive.rate_limits)

        final = latest_by_item(RecordLog(env.run_dir.results_path))
        done = [final[i.id] for i in items if final.get(i.id, {}).get("status")
                in self.done_statuses]
        paths = self.export(env, settings, done) if done else []
        if counts["skipped_budget"]:
            state = "incomplete"
        elif todo and counts["failed"] == len(todo):
            state = "failed"
        else:
            state = "done"
        peak = {"concurrency_peak": adaptive.peak} if adaptive is not None else {}
        return {"state": state, "items": len(items), "resumed_done": len(items) - len(todo),
                **dict.fromkeys((*self.done_statuses, "failed", "skipped_budget"), 0), **counts,
                "done": len(done),
                "exports": [str(p) for p in paths], **peak}
