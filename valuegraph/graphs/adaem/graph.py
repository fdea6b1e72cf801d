"""The AdAEM loop (arXiv 2505.13531, Algorithm 1/2; spec §3.4) as a LangGraph state machine.

    START -> next_step? -> select_arm -> explore -> dedup -> estimate --+--> refine --+
                ^                                                       |      ^     |
                |                                                       v      +-----+
                +---------- update_arm <- record <- [approve] <- final_score <--+

One invocation runs one *segment*: up to ``steps_per_segment`` bandit steps on one checkpoint
thread. The runner chains segments on fresh threads, carrying the arm statistics and totals,
and deletes a thread once the next one holds its carry. So a run "forever" never reaches the
recursion limit (it is per invocation, set by :func:`recursion_limit`) and the checkpoint
database does not grow with the run (the SQLite saver stores the full state per checkpoint).

Every bound is checked in one place, :func:`exit_reason`, used by the ``next_step`` router and
by the runner.
"""

from __future__ import annotations

from typing import Literal

from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime

from valuegraph.graphs._shared.budget import LoopLimits
from valuegraph.graphs._shared.budget import exit_reason as kit_exit_reason
from valuegraph.graphs._shared.routing import on_loop
from valuegraph.graphs.adaem import nodes
from valuegraph.graphs.adaem.context import AdaemContext
from valuegraph.graphs.adaem.state import AdaemState

NODES_PER_STEP = 8
"""select, explore, dedup, estimate, final_score, approve, record, update (+ refine levels)."""
DONE_REASONS = ("steps",)
"""Exit reasons that finish a run; the others (budget, wall_clock, segment) pause it: the run
ends incomplete and resumes once the bound no longer holds."""


def exit_reason(state: AdaemState, ctx: AdaemContext, now: float | None = None) -> str | None:
    """Why no further step may start now: "steps" (B reached), "budget" (model requests),
    "wall_clock" (the deadline passed) or "segment" (this invocation's share is done). The
    kit's exit rule decides the first three (its "rounds" are AdAEM's bandit steps)."""
    limits = LoopLimits(ctx.steps, ctx.max_requests, deadline=ctx.deadline)
    reason = kit_exit_reason(limits, state.steps_done, state.requests_made, [], now)
    if reason is not None:
        return "steps" if reason == "rounds" else reason
    if state.segment_steps >= ctx.steps_per_segment:
        return "segment"
    return None


def next_step(state: AdaemState, runtime: Runtime[AdaemContext]) -> str:
    """The exit router: start another step unless a bound says stop."""
    return "select_arm" if exit_reason(state, runtime.context or AdaemContext()) is None else END


def after_scoring(state: AdaemState) -> Literal["refine", "final_score"]:
    """Refine again while some candidate's last refinement was accepted (depth ≤ max)."""
    return "refine" if state.refining else "final_score"


def after_final(state: AdaemState, runtime: Runtime[AdaemContext]) -> Literal["approve",
                                                                             "record"]:
    ctx = runtime.context or AdaemContext()
    return "approve" if ctx.approval and state.finalists else "record"


def recursion_limit(ctx: AdaemContext) -> int:
    """Super-steps one invocation may take: a full segment with the deepest refinement."""
    return ctx.steps_per_segment * (NODES_PER_STEP + ctx.max_depth) + 8


def build_graph() -> StateGraph[AdaemState, AdaemContext, AdaemState, AdaemState]:
    """The uncompiled builder; compile with a checkpointer for resumable runs."""
    builder = StateGraph(AdaemState, context_schema=AdaemContext)
    builder.add_node("select_arm", nodes.select_arm)
    builder.add_node("explore", nodes.explore)
    builder.add_node("dedup", nodes.dedup)
    builder.add_node("estimate", nodes.estimate)
    builder.add_node("refine", nodes.refine)
    builder.add_node("final_score", nodes.final_score)
    builder.add_node("approve", nodes.approve)
    builder.add_node("record", nodes.record)
    builder.add_node("update_arm", nodes.update_arm)
    builder.add_conditional_edges(START, on_loop(next_step), ["select_arm", END])
    builder.add_edge("select_arm", "explore")
    builder.add_edge("explore", "dedup")
    builder.add_edge("dedup", "estimate")
    builder.add_conditional_edges("estimate", on_loop(after_scoring), ["refine", "final_score"])
    builder.add_conditional_edges("refine", on_loop(after_scoring), ["refine", "final_score"])
    builder.add_conditional_edges("final_score", on_loop(after_final), ["approve", "record"])
    builder.add_edge("approve", "record")
    builder.add_edge("record", "update_arm")
    builder.add_conditional_edges("update_arm", on_loop(next_step), ["select_arm", END])
    return builder


graph = build_graph().compile()
"""For ``langgraph dev`` / Studio (no custom checkpointer there)."""
