"""`valuegraph grow` / `valuegraph run adaem`: autonomous, resumable benchmark growth.

The run is a chain of graph *segments* (see :mod:`graph`): segment k runs on checkpoint thread
``adaem-<k>``; when it ends because its share of steps is done, segment k+1 starts from its
carry (arm statistics and totals) and thread k is deleted. ``segment.json`` names the current
segment, so a resumed run (after SIGKILL, a crash or a wall-clock stop) picks up the unfinished
segment from its last checkpoint; every model call that had completed is answered by the
completion cache, and every record is on disk before the state refers to it.

Settings (``--set params.<name>=...``): the fields of :class:`AdaemContext` (except those set
from the run config: judge, optimizer, api_bases, seed, max_calls = budget, item_bank_url) plus

    release_every       write a release every N kept questions (None: only on demand)
    release_min_score   leave questions below this final S out of releases
    max_hours           stop starting steps after this many hours (per process; resumable)
    retry_wait          first back-off of the model pool in seconds (default 0.5)
    max_attempts        tries per model request (default 6)
    request_timeout     per-request timeout of API backends in seconds (default 120)
    embedding_threads   torch intra-op threads of this process (default 1, null: torch's own).
                        MiniLM encodes small batches from several worker threads at once;
                        more intra-op threads than free cores made one encode ~480 ms instead
                        of ~30 ms on a shared 2-core machine.

Live progress: the progress bar, ``status.json`` (``progress``: questions kept, mean S, arm
counts, calls and tokens per role, cost) and one log line per step in ``run.log``. Touch
``<run>/release.request`` to get a release after the current step.
"""

from __future__ import annotations

import asyncio
import fcntl
import hashlib
import json
import logging
import os
import time
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from langchain_core.runnables import RunnableConfig

from valuegraph.config import ConfigError, RunConfig
from valuegraph.graphs._shared.runtime import bind_pool, unbind_pool
from valuegraph.graphs.adaem.context import AdaemContext
from valuegraph.graphs.adaem.graph import DONE_REASONS, build_graph, exit_reason, recursion_limit
from valuegraph.graphs.adaem.prompts import PromptError, Prompts
from valuegraph.graphs.adaem.release import unreleased_count, write_release
from valuegraph.graphs.adaem.seeds import SeedError, load_seeds
from valuegraph.graphs.adaem.state import AdaemState
from valuegraph.graphs.adaem.store import GrowthStore, close_store, store_for
from valuegraph.tools.checkpoint import open_checkpointer
from valuegraph.tools.pool import ModelPool
from valuegraph.tools.rundir import write_atomic

log = logging.getLogger(__name__)

DESCRIPTION = "AdAEM: grow a value benchmark autonomously with a UCB bandit over topics"
SEGMENT_FILE = "segment.json"
LOCK_FILE = "grow.lock"
RELEASE_REQUEST = "release.request"
APPROVAL_PENDING = "approval_pending.json"
APPROVAL_DECISION = "approval_decision.json"
CARRY = ("arms", "steps_done", "calls_made", "kept_total", "score_total")
FROM_RUN_CONFIG = ("judge", "optimizer", "api_bases", "seed", "max_calls", "item_bank_url",
                   "pool_key", "run_dir", "run_tag", "deadline")
LOGLIK_PROVIDERS = ("local", "hf", "mock")


@dataclass(frozen=True)
class GrowSettings:
    """The runner's own settings (the graph's are in :class:`AdaemContext`)."""

    release_every: int | None = None
    release_min_score: float | None = None
    max_hours: float | None = None
    retry_wait: float | None = None
    max_attempts: int | None = None
    request_timeout: float | None = None
    approval_poll_s: float = 2.0
    embedding_threads: int | None = 1


def settings(cfg: RunConfig) -> tuple[GrowSettings, AdaemContext]:
    """Split ``cfg.params`` into runner settings and the graph context.

    Raises:
        ConfigError: unknown or invalid settings, with the allowed ones.
    """
    params = dict(cfg.params)
    names = {f.name for f in fields(GrowSettings)}
    own = {name: params.pop(name) for name in list(params) if name in names}
    try:
        for name in ("release_every", "max_attempts", "embedding_threads"):
            value = own.get(name)
            if value is not None and (not isinstance(value, int) or value < 1):
                raise ValueError(f"{name} must be a whole number >= 1 or null, got {value!r}")
        for name in ("max_hours", "retry_wait", "request_timeout", "approval_poll_s"):
            value = own.get(name)
            if value is not None and (not isinstance(value, (int, float)) or value <= 0):
                raise ValueError(f"{name} must be a positive number or null, got {value!r}")
        grow = GrowSettings(**own)
        for name in FROM_RUN_CONFIG:
            if name in params:
                raise ValueError(f"params.{name} is set from the run config (models, api_bases, "
                                 "seed, budget, item_bank), not from params")
        explorers = params.pop("explorers", None) or [cfg.models["attacker"]]
        respondents = params.pop("respondents", None)
        if respondents is None:
            respondents = [] if cfg.models["target"] in explorers else [cfg.models["target"]]
        context = AdaemContext.from_mapping({
            **params, "explorers": list(explorers), "respondents": list(respondents),
            "judge": cfg.models["judge"], "optimizer": cfg.models["optimizer"],
            "api_bases": dict(cfg.api_bases), "seed": cfg.seed, "max_calls": cfg.budget,
            "item_bank_url": cfg.item_bank})
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"adaem: {exc}") from None
    return grow, context


def validate(cfg: RunConfig) -> None:
    """Reject bad settings, seeds, prompts or model specs before anything is written."""
    from valuegraph.tools.specs import SpecError, missing_api_keys, parse_spec

    _, ctx = settings(cfg)
    try:
        load_seeds(ctx.seeds, ctx.seed_format)
        Prompts(ctx.prompts)
    except (SeedError, PromptError) as exc:
        raise ConfigError(f"adaem: {exc}") from None
    specs = [*ctx.p2, *([ctx.safety_judge] if ctx.safety_judge else [])]
    for spec in specs:
        try:
            parsed = parse_spec(spec, ctx.api_base(spec))
        except SpecError as exc:
            raise ConfigError(f"adaem: {exc}") from None
        missing = missing_api_keys(parsed)
        if missing:
            raise ConfigError(f"adaem: model {spec!r} needs the environment variable(s) "
                              f"{', '.join(missing)}")
        if ctx.score_method == "exact" and parsed.provider not in LOGLIK_PROVIDERS:
            raise ConfigError(f"adaem: score_method=exact needs log-likelihoods, which {spec!r} "
                              f"cannot give; use {', '.join(LOGLIK_PROVIDERS)} models or "
                              "score_method=approx")
    if ctx.similarity == "bertscore":
        try:
            import bert_score  # noqa: F401
        except ImportError:
            raise ConfigError("adaem: similarity=bertscore needs: pip install bert-score") from None


def configure_threads(grow: GrowSettings) -> None:
    """Limit torch's intra-op threads (process-wide) before the first embedding."""
    if grow.embedding_threads is None:
        return
    try:
        import torch
    except ImportError:
        return
    torch.set_num_threads(grow.embedding_threads)


def configure_pool(pool: ModelPool, grow: GrowSettings) -> None:
    """Apply the run's retry and timeout settings (before the first backend is created)."""
    if grow.retry_wait is not None:
        pool.retry_wait = grow.retry_wait
    if grow.max_attempts is not None:
        pool.max_attempts = grow.max_attempts
    if grow.request_timeout is not None:
        pool.timeout = grow.request_timeout
        for backend in pool._backends.values():
            if hasattr(backend, "timeout"):
                backend.timeout = grow.request_timeout


def run_tag(run_id: str) -> str:
    """Prefix of the run's question ids: short, stable, and distinct between runs."""
    return hashlib.sha256(run_id.encode()).hexdigest()[:6] + "-"


async def run(cfg: RunConfig, run_dir: Any, pool: ModelPool, progress: Any = None
              ) -> dict[str, Any]:
    """Grow (or continue growing) the run's benchmark; returns the run summary."""
    grow, ctx = settings(cfg)
    configure_pool(pool, grow)
    configure_threads(grow)
    root = Path(run_dir.root)
    ctx = replace(ctx, run_dir=str(root), pool_key=f"adaem:{root.resolve()}",
                  run_tag=run_tag(run_dir.run_id),
                  deadline=time.time() + grow.max_hours * 3600 if grow.max_hours else None)
    with _exclusive(root):
        bind_pool(ctx.pool_key, pool)
        try:
            store = store_for(ctx.run_dir, bank_url=ctx.item_bank_url, seeds=ctx.seeds,
                              seed_format=ctx.seed_format)
            await asyncio.to_thread(store.ensure_bank)
            grower = Grower(cfg, grow, ctx, run_dir, pool, store, progress)
            return await grower.run()
        finally:
            unbind_pool(ctx.pool_key)
            close_store(ctx.run_dir)


class _exclusive:
    """One grower per run directory (an OS lock, released even by SIGKILL)."""

    def __init__(self, root: Path):
        self.path = root / LOCK_FILE
        self.handle: Any = None

    def __enter__(self) -> None:
        self.handle = open(self.path, "a+")
        try:
            fcntl.flock(self.handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self.handle.close()
            raise ConfigError(f"{self.path.parent} is being grown by another process") from None

    def __exit__(self, *exc: object) -> None:
        fcntl.flock(self.handle, fcntl.LOCK_UN)
        self.handle.close()


class Grower:
    """Runs segment after segment until a bound finishes the run (or pauses it)."""

    def __init__(self, cfg: RunConfig, grow: GrowSettings, ctx: AdaemContext, run_dir: Any,
                 pool: ModelPool, store: GrowthStore, progress: Any):
        self.cfg, self.grow, self.ctx = cfg, grow, ctx
        self.run_dir, self.root, self.pool, self.store = run_dir, Path(run_dir.root), pool, store
        self.progress = progress
        self.task = progress.add_task("adaem", total=ctx.steps, info="") if progress else None
        self.releases: list[str] = []
        self.next_release_at: int | None = None

    # -- segments --------------------------------------------------------------------------

    def _segment(self) -> int:
        path = self.root / SEGMENT_FILE
        return json.loads(path.read_text())["segment"] if path.is_file() else 0

    def _set_segment(self, segment: int) -> None:
        write_atomic(self.root / SEGMENT_FILE, json.dumps({"segment": segment}))

    def _config(self, segment: int) -> RunnableConfig:
        return RunnableConfig(configurable={"thread_id": f"adaem-{segment:06d}"},
                              recursion_limit=recursion_limit(self.ctx))

    async def run(self) -> dict[str, Any]:
        async with open_checkpointer(self.cfg.checkpointer, self.root) as saver:
            graph = build_graph().compile(checkpointer=saver)
            segment = self._segment()
            carry: dict[str, Any] = {"segment_steps": 0}
            if segment > 0:
                previous = await graph.aget_state(self._config(segment - 1))
                if previous.values:
                    carry = _carry(previous.values)
            while True:
                config = self._config(segment)
                snapshot = await graph.aget_state(config)
                if snapshot.values and not snapshot.next:
                    state = AdaemState(**snapshot.values)
                    reason = exit_reason(state, self.ctx)
                    if reason in DONE_REASONS or reason == "wall_clock":
                        return self._summary(state, reason)
                    carry = _carry(snapshot.values)
                    segment += 1
                    self._set_segment(segment)
                    continue
                if snapshot.next and snapshot.interrupts:
                    start: Any = await self._await_approval(snapshot)
                    if start is None:
                        return self._summary(AdaemState(**snapshot.values), "awaiting_approval")
                else:
                    start = None if snapshot.next else carry
                await self._stream(graph, start, config)
                if segment > 0:
                    await saver.adelete_thread(f"adaem-{segment - 1:06d}")

    async def _stream(self, graph: Any, start: Any, config: RunnableConfig) -> None:
        """Run one segment (or its rest); ``durability="sync"`` writes each checkpoint before
        the next node starts, so a kill loses at most the node in flight."""
        steps_seen: int | None = None
        async for values in graph.astream(start, config, context=self.ctx, stream_mode="values",
                                          durability="sync"):
            if "__interrupt__" in values:  # a pause for approval: handled by run()
                continue
            state = AdaemState(**values)
            if steps_seen is not None and state.steps_done > steps_seen:
                await self._after_step(state)
            steps_seen = state.steps_done

    # -- per step --------------------------------------------------------------------------

    async def _after_step(self, state: AdaemState) -> None:
        info = self._progress(state)
        if self.progress is not None:
            self.progress.update(self.task, completed=state.steps_done, info=info["line"])
        log.info("step %d: %s", state.steps_done, info["line"])
        self.run_dir.set_status("running", graph="adaem", progress=info)
        await self._maybe_release(state)

    def _progress(self, state: AdaemState) -> dict[str, Any]:
        usage = self.pool.usage.to_json()
        tokens = sum(u["prompt_tokens"] + u["completion_tokens"] for u in usage.values())
        cost = sum(u["cost_usd"] for u in usage.values())
        mean_s = state.score_total / state.kept_total if state.kept_total else None
        counts = {arm: int(s["count"]) for arm, s in state.arms.items()}
        top = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:5]
        flagged = self.store.status_counts["flagged"]
        line = (f"kept {state.kept_total} · mean S {mean_s:.2f} · " if mean_s is not None
                else f"kept {state.kept_total} · ") + (
            f"calls {state.calls_made} · tokens {tokens} · ${cost:.4f} · "
            f"arms {' '.join(f'{a}:{c}' for a, c in top)}")
        return {"line": line, "steps_done": state.steps_done, "kept": state.kept_total,
                "flagged": flagged, "mean_S": mean_s, "calls_made": state.calls_made,
                "arm_counts": counts, "usage": usage, "tokens": tokens, "cost_usd": cost,
                "releases": self.releases}

    async def _maybe_release(self, state: AdaemState) -> None:
        requested = (self.root / RELEASE_REQUEST).exists()
        every = self.grow.release_every
        if every and self.next_release_at is None:
            pending = await asyncio.to_thread(unreleased_count, self.root)
            self.next_release_at = state.kept_total - pending + every
        due = every is not None and state.kept_total >= (self.next_release_at or 0)
        if not (requested or due):
            return
        await self.release()
        if every:
            self.next_release_at = state.kept_total + every
        if requested:
            (self.root / RELEASE_REQUEST).unlink(missing_ok=True)

    async def release(self) -> str | None:
        """Write the next release now; returns its version (None: nothing new)."""
        ctx = self.ctx
        info = {"run_id": self.run_dir.run_id, "seed": ctx.seed, "theory": ctx.theory,
                "pools": {"p1": ctx.p1, "p2": ctx.p2, "judge": ctx.judge,
                          "optimizer": ctx.optimizer, "safety_judge": ctx.safety_judge},
                "score": {"method": ctx.score_method, "dis_sign": ctx.dis_sign,
                          "vd_reduction": ctx.vd_reduction, "similarity": ctx.similarity}}
        made = await asyncio.to_thread(write_release, self.root, self.store.embed,
                                       min_score=self.grow.release_min_score,
                                       epsilon=ctx.epsilon, neighbours=ctx.dedup_neighbours,
                                       near_identical=ctx.near_identical, info=info)
        if made is None:
            return None
        self.releases.append(made.version)
        log.info("release %s: %d questions, mean S %.2f", made.version, made.manifest["count"],
                 made.manifest["mean_S"])
        return made.version

    # -- approval --------------------------------------------------------------------------

    async def _await_approval(self, snapshot: Any) -> Any:
        """Publish the pending questions and wait for a decision file (written by
        ``valuegraph grow approve``); None when the deadline passes first."""
        from langgraph.types import Command

        pending = [i.value for i in snapshot.interrupts]
        write_atomic(self.root / APPROVAL_PENDING, json.dumps(pending, indent=1))
        self.run_dir.set_status("awaiting_approval", graph="adaem")
        decision_path = self.root / APPROVAL_DECISION
        while not decision_path.exists():
            if self.ctx.deadline is not None and time.time() >= self.ctx.deadline:
                return None
            await asyncio.sleep(self.grow.approval_poll_s)
        decision = json.loads(decision_path.read_text())
        os.unlink(decision_path)
        (self.root / APPROVAL_PENDING).unlink(missing_ok=True)
        self.run_dir.set_status("running", graph="adaem")
        return Command(resume=decision)

    # -- summary ---------------------------------------------------------------------------

    def _summary(self, state: AdaemState, reason: str | None) -> dict[str, Any]:
        info = self._progress(state)
        return {"exit_reason": reason, "done": reason in DONE_REASONS,
                "steps_done": state.steps_done, "kept": state.kept_total,
                "flagged": info["flagged"], "mean_S": info["mean_S"],
                "calls_made": state.calls_made, "arms": state.arms, "releases": self.releases,
                "segment": self._segment()}


def _carry(values: dict[str, Any]) -> dict[str, Any]:
    return {**{key: values[key] for key in CARRY if key in values}, "segment_steps": 0}
