"""`valuegraph grow` / `valuegraph run adaem`: autonomous, resumable benchmark growth.

The run is a chain of graph segments (the kit's :class:`SegmentRunner`); this module adds what
is AdAEM's own: the settings split (P1 from ``models.attacker``, P2 adds ``models.target``),
releases every N kept questions or on request, human approval, and the live progress line.

Settings (``--set params.<name>=...``): the fields of :class:`AdaemContext` (except those set
from the run config: judge, optimizer, api_bases, seed, max_requests = budget, item_bank_url)
plus

    release_every       write a release every N kept questions (None: only on demand)
    release_min_score   leave questions below this final S out of releases
    max_hours           stop starting steps after this many hours (per process; resumable)
    embedding_threads   torch intra-op threads of this process (default 1, null: torch's own).
                        MiniLM encodes small batches from several worker threads at once;
                        more intra-op threads than free cores made one encode ~480 ms instead
                        of ~30 ms on a shared 2-core machine.

Live progress: the progress bar, ``status.json`` (``progress``: questions kept, mean S, arm
counts, requests and tokens per role, cost) and one log line per step in ``run.log``. Touch
``<run>/release.request`` to get a release after the current step.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
import logging
import os
import time
from typing import Any, ClassVar

from pydantic import Field

from valuegraph.config import ConfigError, RunConfig
from valuegraph.graphs._shared.runner import RunEnv, RunnerSettings
from valuegraph.graphs._shared.segments import SegmentRun, SegmentRunner
from valuegraph.graphs.adaem import graph
from valuegraph.graphs.adaem.context import AdaemContext
from valuegraph.graphs.adaem.graph import DONE_REASONS, exit_reason
from valuegraph.graphs.adaem.release import unreleased_count, write_release
from valuegraph.graphs.adaem.seeds import SeedError, load_seeds
from valuegraph.graphs.adaem.state import AdaemState
from valuegraph.graphs.adaem.store import open_store
from valuegraph.tools.files import write_atomic

log = logging.getLogger(__name__)

RELEASE_REQUEST = "release.request"
APPROVAL_PENDING = "approval_pending.json"
APPROVAL_DECISION = "approval_decision.json"
LOGLIK_PROVIDERS = ("local", "hf", "mock")


class GrowSettings(RunnerSettings):
    """The growth runner's own settings (the graph's are in :class:`AdaemContext`)."""

    release_every: int | None = Field(None, ge=1)
    release_min_score: float | None = None
    max_hours: float | None = Field(None, gt=0)
    approval_poll_s: float = Field(2.0, gt=0)
    embedding_threads: int | None = Field(1, ge=1)


def run_tag(run_id: str) -> str:
    """Prefix of the run's question ids: short, stable, and distinct between runs."""
    return hashlib.sha256(run_id.encode()).hexdigest()[:6] + "-"


def release_info(run_id: str, ctx: AdaemContext) -> dict[str, Any]:
    """What a release manifest records about the run that grew it."""
    return {"run_id": run_id, "seed": ctx.seed, "theory": ctx.theory,
            "pools": {"p1": ctx.p1, "p2": ctx.p2, "judge": ctx.judge,
                      "optimizer": ctx.optimizer, "safety_judge": ctx.safety_judge},
            "score": {"method": ctx.score_method, "vc_form": ctx.vc_form,
                      "dis_sign": ctx.dis_sign, "dis_weight": 0.5,
                      "vd_reduction": ctx.vd_reduction, "similarity": ctx.similarity,
                      "formula": "S = R_VC + R_VD + R_OD "
                                 f"{'-' if ctx.dis_sign < 0 else '+'} 0.5 R_Dis"},
            "bandit": {"tau": ctx.tau, "tau_mode": ctx.tau_mode,
                       "reward_scale": ctx.reward_scale,
                       "empty_step_reward": ctx.empty_step_reward},
            "safety": {"judge": ctx.safety_judge, "mode": ctx.safety_mode}}


class GrowthRunner(SegmentRunner):
    name = "adaem"
    description = "AdAEM: grow a value benchmark autonomously with a UCB bandit over topics"
    context_cls = AdaemContext
    settings_cls = GrowSettings
    graph_module = graph
    carry_fields: ClassVar[tuple[str, ...]] = ("arms", "steps_done", "requests_made",
                                               "kept_total", "score_total", "scale")
    done_reasons = DONE_REASONS

    # -- settings --------------------------------------------------------------------------

    def run_config_values(self, cfg: RunConfig) -> dict[str, Any]:
        return {"judge": cfg.models["judge"], "optimizer": cfg.models["optimizer"],
                "api_bases": dict(cfg.api_bases), "seed": cfg.seed, "max_requests": cfg.budget,
                "item_bank_url": cfg.item_bank}

    def expand_params(self, params: dict[str, Any]) -> dict[str, Any]:
        for name in ("run_dir", "run_tag", "deadline"):
            if name in params:
                raise ConfigError(f"adaem: params.{name} is set by the runner")
        return params

    def settings(self, cfg: RunConfig) -> tuple[GrowSettings, AdaemContext]:
        params = dict(cfg.params)
        explorers = params.get("explorers") or [cfg.models["attacker"]]
        if "respondents" not in params:
            params["respondents"] = [] if cfg.models["target"] in explorers \
                else [cfg.models["target"]]
        params["explorers"] = explorers
        return super().settings(cfg.model_copy(update={"params": params}))

    def check(self, settings: GrowSettings, ctx: AdaemContext) -> None:
        from valuegraph.tools.specs import SpecError, missing_api_keys, parse_spec

        try:
            load_seeds(ctx.seeds, ctx.seed_format)
        except SeedError as exc:
            raise ConfigError(f"adaem: {exc}") from None
        for spec in [*ctx.p2, *([ctx.safety_judge] if ctx.safety_judge else [])]:
            try:
                parsed = parse_spec(spec, ctx.api_base(spec))
            except SpecError as exc:
                raise ConfigError(f"adaem: {exc}") from None
            missing = missing_api_keys(parsed)
            if missing:
                raise ConfigError(f"adaem: model {spec!r} needs the environment variable(s) "
                                  f"{', '.join(missing)}")
            if ctx.score_method == "exact" and parsed.provider not in LOGLIK_PROVIDERS:
                raise ConfigError(f"adaem: score_method=exact needs log-likelihoods, which "
                                  f"{spec!r} cannot give; use {', '.join(LOGLIK_PROVIDERS)} "
                                  "models or score_method=approx")
        if ctx.similarity == "bertscore":
            try:
                import bert_score  # noqa: F401
            except ImportError:
                raise ConfigError("adaem: similarity=bertscore needs: pip install bert-score"
                                  ) from None

    # -- the graph -------------------------------------------------------------------------

    def state_of(self, values: dict[str, Any]) -> AdaemState:
        return AdaemState(**values)

    def exit_reason(self, state: AdaemState, context: AdaemContext) -> str | None:
        return exit_reason(state, context)

    def carry(self, values: dict[str, Any]) -> dict[str, Any]:
        return {**super().carry(values), "segment_steps": 0}

    # -- the run ---------------------------------------------------------------------------

    async def run(self, env: RunEnv) -> dict[str, Any]:
        grow, ctx = self.settings(env.cfg)
        configure_threads(grow)
        root = env.run_dir.root
        deadline = time.time() + grow.max_hours * 3600 if grow.max_hours else None
        ctx = dataclasses.replace(self.bind(ctx, env), run_dir=str(root),
                                  run_tag=run_tag(env.run_dir.run_id), deadline=deadline)
        store = await asyncio.to_thread(open_store, ctx)
        await asyncio.to_thread(store.ensure_bank)
        run = Growth(env, ctx, grow, store)
        return await self.run_segments(run)

    async def after_step(self, run: SegmentRun, state: AdaemState) -> None:
        assert isinstance(run, Growth)
        info = run.progress_info(state)
        run.env.progress.update(run.task, completed=state.steps_done, info=info["line"])
        log.info("step %d: %s", state.steps_done, info["line"])
        run.env.report(progress=info)
        await run.maybe_release(state)

    async def on_interrupt(self, run: SegmentRun, snapshot: Any) -> Any:
        """Publish the pending questions and wait for a decision file (written by
        ``valuegraph grow approve``); None when the deadline passes first."""
        from langgraph.types import Command

        assert isinstance(run, Growth)
        pending = [i.value for i in snapshot.interrupts]
        write_atomic(run.root / APPROVAL_PENDING, json.dumps(pending, indent=1))
        run.env.run_dir.set_status("awaiting_approval", graph="adaem")
        decision_path = run.root / APPROVAL_DECISION
        while not decision_path.exists():
            if run.context.deadline is not None and time.time() >= run.context.deadline:
                return None
            await asyncio.sleep(run.grow.approval_poll_s)
        decision = json.loads(decision_path.read_text(encoding="utf-8"))
        os.unlink(decision_path)
        (run.root / APPROVAL_PENDING).unlink(missing_ok=True)
        run.env.run_dir.set_status("running", graph="adaem")
        return Command(resume=decision)

    def summary(self, run: SegmentRun, state: AdaemState, reason: str | None) -> dict[str, Any]:
        assert isinstance(run, Growth)
        info = run.progress_info(state)
        return {"steps_done": state.steps_done, "kept": state.kept_total,
                "flagged": info["flagged"], "mean_S": info["mean_S"],
                "requests_made": state.requests_made, "arms": state.arms,
                "releases": run.releases}


class Growth(SegmentRun):
    """One process's part of a growth run: the store, releases and progress."""

    def __init__(self, env: RunEnv, context: AdaemContext, grow: GrowSettings, store: Any):
        super().__init__(env, context)
        self.grow = grow
        self.store = store
        self.task = env.progress.add_task("adaem", total=context.steps, info="")
        self.releases: list[str] = []
        self.next_release_at: int | None = None

    def progress_info(self, state: AdaemState) -> dict[str, Any]:
        usage = self.env.pool.usage.to_json()
        tokens = sum(u["prompt_tokens"] + u["completion_tokens"] for u in usage.values())
        cost = sum(u["cost_usd"] for u in usage.values())
        mean_s = state.score_total / state.kept_total if state.kept_total else None
        counts = {arm: int(s["count"]) for arm, s in state.arms.items()}
        top = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:5]
        flagged = self.store.status_counts["flagged"]
        line = (f"kept {state.kept_total} · mean S {mean_s:.2f} · " if mean_s is not None
                else f"kept {state.kept_total} · ") + (
            f"requests {state.requests_made} · tokens {tokens} · ${cost:.4f} · "
            f"arms {' '.join(f'{a}:{c}' for a, c in top)}")
        return {"line": line, "steps_done": state.steps_done, "kept": state.kept_total,
                "flagged": flagged, "mean_S": mean_s, "requests_made": state.requests_made,
                "arm_counts": counts, "tokens": tokens, "cost_usd": cost,
                "releases": self.releases}

    async def maybe_release(self, state: AdaemState) -> None:
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
        ctx = self.context
        made = await asyncio.to_thread(
            write_release, self.root, self.store.embed, min_score=self.grow.release_min_score,
            epsilon=ctx.epsilon, neighbours=ctx.dedup_neighbours,
            near_identical=ctx.near_identical, info=release_info(self.env.run_dir.run_id, ctx))
        if made is None:
            return None
        self.releases.append(made.version)
        log.info("release %s: %d questions, mean S %.2f", made.version, made.manifest["count"],
                 made.manifest["mean_S"])
        return made.version


def configure_threads(grow: GrowSettings) -> None:
    """Limit torch's intra-op threads (process-wide) before the first embedding."""
    if grow.embedding_threads is None:
        return
    try:
        import torch
    except ImportError:
        return
    torch.set_num_threads(grow.embedding_threads)


RUNNER = GrowthRunner()
