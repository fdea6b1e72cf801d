"""The VILMO loop (spec §1.7): a prompt-specific value instruction, learnt in context.

    write_instruction -> evaluate --exit?--> END (the result is set)
                           ^   |
                           +---+ (revised)

write_instruction: the generator (the optimizer role) reads the scenario and its principle and
writes c^0: which principle is at stake and how the characters should act. evaluate: the target
continues the scenario K times with c^t in its context; the violation judge scores each
continuation as it arrives; the round's violation rate (APV of the scenario, the paper's reward
is 1 - APV_x) is recorded and the exit rule decides. When the loop goes on, the same step has
the generator revise the instruction (:func:`revise_instruction`) from the judge's feedback (how
many continuations still broke the principle, and the worst of them with their probabilities),
and routes back to itself with c^{t+1}.

The exit rule is the kit's (rounds, budget, no improvement of the violation rate for
``patience`` rounds), plus ``no_violation``: a round in which no scored continuation violates
cannot be improved on. The result is the best round's instruction (lowest violation rate, then
lowest mean violation, then earliest), not necessarily the last.

Evaluation and revision share one node, and the round that stops writes the result: a
superstep costs about 1.4 ms of CPU (bench/vilmo_throughput.py), so a scenario that stops at
round 1 takes 3 supersteps instead of 4.
"""

from __future__ import annotations

import asyncio
import dataclasses
import re
from typing import Any, Literal

from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime
from langgraph.types import Command

from valuegraph.agents import Optimizer
from valuegraph.graphs._shared.budget import LoopLimits, exit_reason
from valuegraph.graphs._shared.moral_prompts import (
    continuation_messages,
    moral_target,
    moral_violation_judge,
)
from valuegraph.graphs._shared.routing import on_loop
from valuegraph.graphs._shared.seeds import call_seed
from valuegraph.graphs.vilmo.context import Context
from valuegraph.graphs.vilmo.state import InputState, RoundRecord, State
from valuegraph.tools.templates import Templates
from valuegraph.tools.usage import metered
from valuegraph.values.theories import MORAL_FOUNDATIONS

WRITE_ATTEMPTS = 3
"""Tries (each with its own seed) before an empty instruction fails the item."""
_LABEL = re.compile(r"^\s*(?:\*\*)?(?:new |revised |improved |value )?(?:instruction)"
                    r"(?:\*\*)?\s*:(?:\*\*)?\s*", re.IGNORECASE)


# -- helpers (also used by ``bench moral --intervention vilmo``) ------------------------------

def clean_instruction(text: str) -> str:
    """Strip a leading label ("Instruction:") and wrapping quotes from a generator's reply."""
    text = _LABEL.sub("", text.strip(), count=1).strip()
    for quote in ('"""', '"', "'", "\u201c"):
        end = "\u201d" if quote == "\u201c" else quote
        if len(text) > 2 * len(quote) and text.startswith(quote) and text.endswith(end):
            text = text[len(quote):-len(end)].strip()
    return text


def instruction_request(templates: Templates, scenario: str, principle: str,
                        foundation: str) -> str:
    """The generator's request for a first instruction (INSTRUCTION_PROMPT)."""
    dim = MORAL_FOUNDATIONS.get(foundation)
    return templates.render("INSTRUCTION_PROMPT", scenario=scenario, principle=principle,
                            foundation=dim.name, foundation_definition=dim.definition)


async def draft_instruction(writer: Optimizer, request: str, seed: int, *,
                            what: str = "an instruction") -> str:
    """The generator's cleaned reply; an empty one is asked again with a new seed.

    Raises:
        ValueError: empty every time (the item fails; a resumed run retries it).
    """
    for attempt in range(WRITE_ATTEMPTS):
        reply = await writer.ask(None, request, seed=seed + attempt)
        text = clean_instruction(reply[0].text)
        if text:
            return text
    raise ValueError(f"the generator {writer.spec} wrote an empty reply for {what} "
                     f"{WRITE_ATTEMPTS} times")


def generator(ctx: Context) -> Optimizer:
    return ctx.role(Optimizer, ctx.generator, temperature=ctx.generator_temperature,
                    max_tokens=ctx.generator_max_tokens)


async def warm_up(ctx: Context) -> None:
    """The roles' backends, created off the event loop (once per run)."""
    await ctx.res.warm_up((spec, ctx.api_base(spec))
                          for spec in (ctx.generator, ctx.target, ctx.judge))


def rank_key(record: RoundRecord) -> tuple[float, float, int]:
    """Sort key of a round, best first: violation rate, mean violation, round (unscored
    rounds last)."""
    rate = record["violation_rate"]
    mean = record["mean_violation"]
    return (2.0 if rate is None else rate, 2.0 if mean is None else mean, record["round"])


def feedback_lines(record: RoundRecord, limit: int) -> str:
    """The judge's feedback for a revision: the ``limit`` most violating continuations."""
    scored = sorted(((s, i) for i, s in enumerate(record["scores"]) if s is not None),
                    key=lambda pair: (-pair[0], pair[1]))
    picks = [(f"p={s:.2f}", i) for s, i in scored[:limit]]
    if not picks:  # nothing scored: show the first continuations as they are
        picks = [("unscored", i) for i in range(min(limit, len(record["completions"])))]
    return "\n".join(f"{n}. ({label}) {' '.join(record['completions'][i].split())}"
                     for n, (label, i) in enumerate(picks, start=1))


def recursion_limit(ctx: Context) -> int:
    """Supersteps the loop can take (1 per round, plus the start), with a margin."""
    return ctx.rounds + 12


# -- nodes -----------------------------------------------------------------------------------

async def write_instruction(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    """c^0: the generator names the principle at stake and says how to act."""
    ctx = runtime.context
    await warm_up(ctx)
    request = instruction_request(ctx.templates(), state.scenario, state.principle,
                                  state.foundation)
    with metered() as meter:
        text = await draft_instruction(
            generator(ctx), request, call_seed(ctx.seed, state.prompt_id, 0, "instruction"),
            what=f"prompt {state.prompt_id!r}")
    return {"instruction": text, "round": 0, "requests": meter.requests}


async def evaluate(state: State,
                   runtime: Runtime[Context]) -> Command[Literal["evaluate", "__end__"]]:
    """K continuations of the scenario with c^t in context, p(violation) of each (judged
    concurrently); records round t, keeps the best round and decides the exit. When the loop
    goes on, the generator revises the instruction in the same step (c^{t+1}, round t + 1)."""
    ctx = runtime.context
    await warm_up(ctx)
    model, judge = moral_target(ctx), moral_violation_judge(ctx)
    messages = continuation_messages(state.scenario, state.instruction, placement=ctx.placement,
                                     template=ctx.templates()["CONTINUE_PROMPT"])
    with metered() as meter:
        replies = await model.complete(messages, n=ctx.samples, seed=call_seed(
            ctx.seed, state.prompt_id, state.round, "sample"))
        texts = [r.text for r in replies]
        verdicts = await asyncio.gather(*(judge.score(state.principle, state.scenario, t)
                                          for t in texts))
        scores = [v.score for v in verdicts]
        scored = [s for s in scores if s is not None]
        violating = sum(s > ctx.threshold for s in scored)
        record: RoundRecord = {
            "round": state.round, "instruction": state.instruction, "completions": texts,
            "scores": scores, "judged_by": [f"{v.judge}:{v.method}" for v in verdicts],
            "violation_rate": violating / len(scored) if scored else None,
            "mean_violation": sum(scored) / len(scored) if scored else None,
            "violating": violating, "scored": len(scored),
        }
        history = [*state.history, record]
        best = min(range(len(history)), key=lambda i: rank_key(history[i]))
        reason = route_reason(ctx, state.round, state.requests + meter.requests, history)
        update: dict[str, Any] = {"history": [record], "best_round": best,
                                  "exit_reason": reason}
        if reason is None:
            update["instruction"] = await revise_instruction(ctx, state, record)
            update["round"] = state.round + 1
    update["requests"] = meter.requests
    if reason is not None:
        update["result"] = final_result(ctx, dataclasses.replace(
            state, history=history, best_round=best, exit_reason=reason,
            requests=state.requests + meter.requests))
    return Command(update=update, goto=route_after_round(reason))


async def revise_instruction(ctx: Context, state: State, last: RoundRecord) -> str:
    """c^{t+1}: the generator rewrites round t's instruction from the judge's feedback."""
    dim = MORAL_FOUNDATIONS.get(state.foundation)
    request = ctx.templates().render(
        "REVISE_PROMPT", scenario=state.scenario, principle=state.principle, foundation=dim.name,
        instruction=last["instruction"], violating=last["violating"], scored=last["scored"],
        feedback=feedback_lines(last, ctx.feedback))
    return await draft_instruction(
        generator(ctx), request, call_seed(ctx.seed, state.prompt_id, last["round"] + 1,
                                           "revise"),
        what=f"the revision of prompt {state.prompt_id!r}")


def final_result(ctx: Context, state: State) -> dict[str, Any]:
    """The auditable result of a finished loop: the best instruction, its samples and scores,
    the lineage of every instruction tried."""
    best = state.history[state.best_round]
    return {
        "prompt_id": state.prompt_id, "prompt": state.scenario, "principle": state.principle,
        "foundation": state.foundation, "instruction": best["instruction"],
        "instruction_round": best["round"], "completions": best["completions"],
        "scores": best["scores"], "judged_by": best["judged_by"],
        "violation_rate": best["violation_rate"], "mean_violation": best["mean_violation"],
        "first_violation_rate": state.history[0]["violation_rate"],
        "rounds": state.round, "exit_reason": state.exit_reason, "requests": state.requests,
        "lineage": [h["instruction"] for h in state.history],
        "round_rates": [h["violation_rate"] for h in state.history],
        "round_means": [h["mean_violation"] for h in state.history],
        "history": state.history, "generator": ctx.generator, "target": ctx.target,
        "judge": ctx.judge, "seed": ctx.seed, "samples": ctx.samples,
        "threshold": ctx.threshold, "placement": ctx.placement,
    }


# -- routers ---------------------------------------------------------------------------------

def route_reason(ctx: Context, rounds_done: int, requests: int,
                 history: list[RoundRecord]) -> str | None:
    """Why the loop stops after this round, or None: ``no_violation`` when the round's rate is
    0 (it cannot fall further), else the kit's rule on the violation rates (the tracked score
    is -rate, so "improvement" means the rate fell; unscored rounds are left out)."""
    if history[-1]["violation_rate"] == 0:
        return "no_violation"
    limits = LoopLimits(ctx.rounds, ctx.max_requests, ctx.patience, ctx.min_improvement)
    rates = [-h["violation_rate"] for h in history if h["violation_rate"] is not None]
    return exit_reason(limits, rounds_done, requests, rates)


def route_start(state: State) -> Literal["write_instruction", "evaluate"]:
    """Start from the given instruction, if any."""
    return "evaluate" if state.instruction.strip() else "write_instruction"


def route_after_round(reason: str | None) -> Literal["evaluate", "__end__"]:
    """The exit router: evaluate the revised instruction, or the end when ``reason`` (decided
    in ``evaluate``) is set; ``evaluate`` routes with it in its ``Command``."""
    return END if reason else "evaluate"


def build_graph() -> StateGraph:
    """The uncompiled VILMO graph; compile it with a checkpointer for resumable runs."""
    builder = StateGraph(State, input_schema=InputState, context_schema=Context)
    builder.add_node(write_instruction)
    builder.add_node(evaluate)
    builder.add_conditional_edges(START, on_loop(route_start))
    builder.add_edge("write_instruction", "evaluate")
    return builder


# Studio / `langgraph dev` load this (no checkpointer: the server brings its own).
graph = build_graph().compile(name="VILMO").with_config(recursion_limit=200)
