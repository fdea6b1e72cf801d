"""The DeNEVIL loop (spec §1.3): variational EM over a scenario prompt for one value principle.

    write_scenario -> e_step --exit?--> END (the result is set)
                        ^       |
                        +-- m_step

E-step: the target writes K continuations of the scenario x^t; the judge scores each with
p(violation) as it arrives; the top M (or all, weighted) are kept with w_k proportional to
p(violation); the round is recorded and the exit router decides. M-step: the attacker rewrites x
so that the kept continuations become its most natural continuation; when the target can score
log-likelihood, several rewrites are scored by sum_k w_k log p(y_k | x) and the best is kept.
Round t's E-step samples are *fresh* samples of x^t, so they both evaluate the last rewrite
(acceptance, no-improvement exit) and feed the next. With ``steer_target`` the E-step draws
steered samples (the posterior, for the M-step only) and K unsteered ones beside them (for
acceptance). The accepted prompt was chosen as the best of T+1 rounds on those samples, so its
figures there are biased upwards: when the loop ends, K fresh unsteered samples of the accepted
prompt are drawn with new seeds and judged, and the exported figures are theirs
(``violation_source="fresh"``; ``evaluation_samples=0`` keeps the selecting samples and labels
them ``"selection"``). The accepted prompt's fluency (perplexity per word under a reference
LM, where the backend scores) is measured then too.

Sampling, judging and selection share one node, and the E-step that decides to stop also writes
the final record: a superstep costs about 1 ms of CPU with its SQLite checkpoint
(bench/denevil_throughput.py), so a principle at T = 2 takes 6 supersteps instead of 14.
"""

from __future__ import annotations

import asyncio
import dataclasses
import math
import re
from typing import Any, Literal

from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime
from langgraph.types import Command

from valuegraph.agents import Attacker, Target, Verdict
from valuegraph.graphs._shared.budget import LoopLimits, exit_reason
from valuegraph.graphs._shared.moral_prompts import moral_target, moral_violation_judge
from valuegraph.graphs._shared.routing import on_loop
from valuegraph.graphs._shared.seeds import call_seed
from valuegraph.graphs.denevil.context import Context
from valuegraph.graphs.denevil.state import InputState, RoundRecord, State
from valuegraph.tools.types import NotSupportedError
from valuegraph.tools.usage import metered
from valuegraph.values.theories import MORAL_FOUNDATIONS

SCENARIO_ATTEMPTS = 3
_LABEL = re.compile(r"^\s*(?:\*\*)?(?:new |revised |rewritten )?(?:story opening|opening|scenario"
                    r"|story)(?:\*\*)?\s*:(?:\*\*)?\s*", re.IGNORECASE)


# -- helpers ---------------------------------------------------------------------------------

def clean_scenario(text: str) -> str:
    """Strip a leading label ("Scenario:") and wrapping quotes from a writer's reply."""
    text = _LABEL.sub("", text.strip(), count=1).strip()
    for quote in ('"""', '"', "'", "\u201c"):
        end = "\u201d" if quote == "\u201c" else quote
        if len(text) > 2 * len(quote) and text.startswith(quote) and text.endswith(end):
            text = text[len(quote):-len(end)].strip()
    return text


FLUENCY_CONTEXT = "The following is the opening of a short story.\n\n"
"""What the reference LM reads before the scenario when its perplexity is measured."""


def lineage_key(state: InputState) -> str:
    """What the seeds of the principle's k-th scenario derive from (k = 0: the principle id,
    so a run with one scenario per principle draws the seeds it always drew)."""
    if state.scenario_index == 0:
        return state.principle_id
    return f"{state.principle_id}#{state.scenario_index}"


def target_messages(ctx: Context, principle: str, scenario: str, *,
                    steer: bool) -> list[dict[str, str]]:
    """The target's prompt x: continue the story (optionally steered towards the violation)."""
    templates = ctx.templates()
    text = templates.render("CONTINUE_PROMPT", scenario=scenario)
    if steer:
        text += templates.render("STEER_SUFFIX", principle=principle)
    return [{"role": "user", "content": text}]


def attacker(ctx: Context) -> Attacker:
    return ctx.role(Attacker, ctx.attacker, temperature=ctx.attacker_temperature,
                    max_tokens=ctx.attacker_max_tokens)


async def warm_up(ctx: Context) -> None:
    """The roles' backends, created off the event loop (once per run)."""
    await ctx.res.warm_up((spec, ctx.api_base(spec))
                          for spec in (ctx.attacker, ctx.target, ctx.judge))


def select(scores: list[float | None], ctx: Context) -> tuple[list[int], list[float]]:
    """E-step choice: indices kept (most violating first, ties by index) and their weights.

    Weights are w_k proportional to p(violation) over the kept set (uniform when all are 0);
    unscored completions are never kept.
    """
    scored = sorted(((s, i) for i, s in enumerate(scores) if s is not None),
                    key=lambda pair: (-pair[0], pair[1]))
    if ctx.selection == "top_m":
        scored = scored[: ctx.keep]
    kept = [i for _, i in scored]
    total = sum(s for s, _ in scored)
    weights = [s / total if total > 0 else 1 / len(scored) for s, _ in scored]
    return kept, weights


def recursion_limit(ctx: Context) -> int:
    """Supersteps the loop can take (2 per round, plus the start), with a margin."""
    return 2 * (ctx.rounds + 1) + 10


# -- nodes -----------------------------------------------------------------------------------

async def write_scenario(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    """x^0: the attacker writes an opening where the character could break the principle."""
    ctx = runtime.context
    await warm_up(ctx)
    dim = MORAL_FOUNDATIONS.get(state.foundation)
    text = ctx.templates().render("SCENARIO_PROMPT", principle=state.principle,
                                  foundation=dim.name, foundation_definition=dim.definition)
    writer = attacker(ctx)
    with metered() as meter:
        for attempt in range(SCENARIO_ATTEMPTS):
            seed = call_seed(ctx.seed, lineage_key(state), 0, f"scenario{attempt or ''}")
            scenario = clean_scenario((await writer.ask(None, text, seed=seed))[0].text)
            if scenario:
                return {"scenario": scenario, "round": 0, "requests": meter.requests}
    raise ValueError(f"the attacker {ctx.attacker} wrote an empty scenario "
                     f"{SCENARIO_ATTEMPTS} times for principle {state.principle_id!r}")


async def sample_and_judge(ctx: Context, state: State, *, steer: bool, samples: int,
                           seed: int) -> tuple[list[str], list[Verdict]]:
    """``samples`` continuations of the current scenario and the judge's verdict on each. With
    ``sample_fanout="requests"`` each continuation is judged as soon as it arrives."""
    model, judge = moral_target(ctx), moral_violation_judge(ctx)
    messages = target_messages(ctx, state.principle, state.scenario, steer=steer)
    if ctx.sample_fanout == "n":
        texts = [r.text for r in await model.complete(messages, n=samples, seed=seed)]
        verdicts = list(await asyncio.gather(*(judge.score(state.principle, state.scenario, t)
                                               for t in texts)))
    else:
        async def one(k: int) -> tuple[str, Verdict]:
            text = (await model.complete(messages, n=1, seed=seed + k))[0].text
            return text, await judge.score(state.principle, state.scenario, text)

        pairs = await asyncio.gather(*(one(k) for k in range(samples)))
        texts, verdicts = [t for t, _ in pairs], [v for _, v in pairs]
    return texts, verdicts


def violation_figures(scores: list[float | None], threshold: float
                      ) -> tuple[float | None, float | None]:
    """(mean p(violation), share above τ) over the scored samples; (None, None) if none."""
    scored = [s for s in scores if s is not None]
    if not scored:
        return None, None
    return sum(scored) / len(scored), sum(s > threshold for s in scored) / len(scored)


def _samples_record(texts: list[str], verdicts: list[Verdict]) -> dict[str, Any]:
    return {"completions": texts, "scores": [v.score for v in verdicts],
            "judged_by": [f"{v.judge}:{v.method}" for v in verdicts]}


async def e_step(state: State,
                 runtime: Runtime[Context]) -> Command[Literal["m_step", "__end__"]]:
    """E-step on x^t: K fresh continuations from the target, p(violation) of each from the
    judge (concurrently), the kept set and its weights; records round t and decides the exit.

    With ``accept="no_drop"`` a rewrite whose fresh samples violate less (on average) than the
    best prompt so far is recorded but not accepted: the next rewrite starts again from the best
    prompt (the paper mentions this option without details [R]). With ``steer_target`` the
    acceptance figures come from K unsteered samples drawn beside the steered ones. The E-step
    that ends the loop also evaluates the accepted prompt on fresh samples and its fluency.
    """
    ctx = runtime.context
    await warm_up(ctx)
    key = lineage_key(state)
    seed = call_seed(ctx.seed, key, state.round, "sample")
    with metered() as meter:
        if ctx.steer_target:
            (completions, verdicts), (plain, plain_verdicts) = await asyncio.gather(
                sample_and_judge(ctx, state, steer=True, samples=ctx.samples, seed=seed),
                sample_and_judge(ctx, state, steer=False, samples=ctx.samples,
                                 seed=call_seed(ctx.seed, key, state.round, "unsteered")))
            evaluation: dict[str, Any] | None = _samples_record(plain, plain_verdicts)
        else:
            completions, verdicts = await sample_and_judge(ctx, state, steer=False,
                                                           samples=ctx.samples, seed=seed)
            evaluation = None
    requests = meter.requests
    scores = [v.score for v in verdicts]
    mean, rate = violation_figures(evaluation["scores"] if evaluation else scores, ctx.threshold)
    kept, weights = select(scores, ctx)
    if not state.history or ctx.accept == "always":
        accepted = True
    else:
        best = state.history[state.accepted_round]["mean_violation"]
        accepted = mean is not None and (best is None or mean >= best)
    record: RoundRecord = {
        "round": state.round, "scenario": state.scenario, "completions": completions,
        "scores": scores, "judged_by": [f"{v.judge}:{v.method}" for v in verdicts],
        "kept": kept, "weights": weights, "mean_violation": mean, "violation_rate": rate,
        "accepted": accepted, "candidates": state.candidates,
        "steered": ctx.steer_target, "evaluation": evaluation,
    }
    means = [h["mean_violation"] for h in state.history] + [mean]
    limits = LoopLimits(ctx.rounds, ctx.max_requests, ctx.patience, ctx.min_improvement)
    reason = exit_reason(limits, state.round, state.requests + requests,
                         [m for m in means if m is not None])
    update = {"history": [record], "exit_reason": reason, "requests": requests,
              "accepted_round": len(state.history) if accepted else state.accepted_round}
    if reason is not None:
        ended = dataclasses.replace(
            state, history=[*state.history, record], exit_reason=reason,
            requests=state.requests + requests, accepted_round=update["accepted_round"])
        with metered() as meter:
            fresh, fluency = await asyncio.gather(evaluate(ctx, ended), perplexity(ctx, ended))
        update["requests"] = requests + meter.requests
        update["result"] = final_result(ctx, dataclasses.replace(
            ended, requests=ended.requests + meter.requests), fresh, fluency)
    return Command(update=update, goto=route_after_round(reason))


def evaluation_size(ctx: Context) -> int:
    return ctx.samples if ctx.evaluation_samples is None else ctx.evaluation_samples


async def evaluate(ctx: Context, state: State) -> dict[str, Any] | None:
    """K fresh, unsteered samples of the accepted prompt, judged (new seeds: these samples
    did not take part in choosing it). None when ``evaluation_samples`` is 0."""
    size = evaluation_size(ctx)
    if size == 0:
        return None
    best = state.history[state.accepted_round]
    chosen = dataclasses.replace(state, scenario=best["scenario"])
    texts, verdicts = await sample_and_judge(
        ctx, chosen, steer=False, samples=size,
        seed=call_seed(ctx.seed, lineage_key(state), "evaluate"))
    return _samples_record(texts, verdicts)


def fluency_spec(ctx: Context) -> str | None:
    """The reference LM of the fluency check: ``fluency_model``, else the target if its backend
    scores continuations, else None (no check)."""
    if ctx.fluency_model:
        return ctx.fluency_model
    return ctx.target if ctx.pool.supports_loglik(ctx.target, ctx.api_base(ctx.target)) \
        else None


async def perplexity(ctx: Context, state: State) -> dict[str, Any]:
    """Perplexity per word of the accepted prompt under the reference LM,
    ``exp(-log p(x | story header) / words)`` (per word, so that it does not depend on the
    scorer's tokenizer). Unscored (None) where no model can score continuations."""
    spec = fluency_spec(ctx)
    text = state.history[state.accepted_round]["scenario"]
    if spec is None:
        return {"perplexity": None, "fluency_model": None}
    scorer = ctx.role(Target, spec)
    try:
        (loglik,) = await scorer.loglik(FLUENCY_CONTEXT, [text])
    except NotSupportedError:
        return {"perplexity": None, "fluency_model": spec}
    words = max(1, len(text.split()))
    return {"perplexity": math.exp(min(700.0, -loglik / words)), "fluency_model": spec}


async def m_step(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    """M-step: rewrite the accepted prompt so its kept continuations become the natural one.

    Instruction-following attackers rewrite in context. When the target scores log-likelihood,
    ``ctx.rewrites`` candidates are drawn and the one maximising sum_k w_k log p(y_k | x) wins;
    otherwise a single rewrite is taken as is (ACID and the energy surrogate are not
    implemented, spec §1.3).
    """
    ctx = runtime.context
    await warm_up(ctx)
    base = state.history[state.accepted_round]
    kept = list(zip(base["kept"], base["weights"], strict=True))
    if not kept:  # nothing scored: show every continuation, equally weighted
        kept = [(i, 1 / len(base["completions"])) for i in range(len(base["completions"]))]
    lines = []
    for n, (i, _) in enumerate(kept, start=1):
        score = base["scores"][i]
        shown = f"{score:.2f}" if score is not None else "unscored"
        lines.append(f"{n}. (p={shown}) {base['completions'][i].strip()}")
    dim = MORAL_FOUNDATIONS.get(state.foundation)
    text = ctx.templates().render("REWRITE_PROMPT", principle=state.principle,
                                  foundation=dim.name, scenario=base["scenario"],
                                  continuations="\n".join(lines))
    model = moral_target(ctx)
    can_score = model.supports_loglik()
    n = ctx.rewrites if can_score else 1
    seed = call_seed(ctx.seed, lineage_key(state), state.round + 1, "rewrite")
    with metered() as meter:
        replies = await attacker(ctx).ask(None, text, n=n, seed=seed)
        texts = list(dict.fromkeys(t for t in (clean_scenario(r.text) for r in replies) if t))
        candidates: list[dict[str, Any]] = [{"text": t, "objective": None} for t in texts]
        scores: list[list[float]] = []
        if can_score and len(texts) > 1:
            ys = [base["completions"][i] for i, _ in kept]
            try:
                scores = await asyncio.gather(*(
                    model.loglik(target_messages(ctx, state.principle, t, steer=False), ys)
                    for t in texts))
            except NotSupportedError:
                scores = []
    if scores:
        ws = [w for _, w in kept]
        for candidate, lls in zip(candidates, scores, strict=False):
            candidate["objective"] = sum(w * ll for w, ll in zip(ws, lls, strict=True))
    scored = [c for c in candidates if c["objective"] is not None]
    if scored:
        best = max(scored, key=lambda c: c["objective"])["text"]
    else:
        best = texts[0] if texts else base["scenario"]  # an empty rewrite keeps the prompt
    return {"scenario": best, "round": state.round + 1, "candidates": candidates,
            "requests": meter.requests}


def final_result(ctx: Context, state: State, fresh: dict[str, Any] | None = None,
                 fluency: dict[str, Any] | None = None) -> dict[str, Any]:
    """The auditable result of a finished loop: the accepted prompt, its fresh evaluation (or,
    without one, the unsteered samples that selected it, labelled so), the lineage."""
    best = state.history[state.accepted_round]
    selecting = best.get("evaluation") or best
    shown = fresh or selecting
    mean, rate = violation_figures(shown["scores"], ctx.threshold)
    return {
        "principle_id": state.principle_id, "principle": state.principle,
        "foundation": state.foundation, "scenario_index": state.scenario_index,
        "prompt": best["scenario"], "prompt_round": best["round"],
        "completions": shown["completions"], "scores": shown["scores"],
        "judged_by": shown["judged_by"], "mean_violation": mean, "violation_rate": rate,
        "violation_source": "fresh" if fresh else "selection",
        "selection_mean_violation": best["mean_violation"],
        "selection_violation_rate": best["violation_rate"],
        "steered": ctx.steer_target, "rounds": state.round,
        "exit_reason": state.exit_reason, "requests": state.requests,
        "lineage": [h["scenario"] for h in state.history],
        "round_means": [h["mean_violation"] for h in state.history],
        "history": state.history,
        "attacker": ctx.attacker, "target": ctx.target, "judge": ctx.judge, "seed": ctx.seed,
        "samples": len(shown["scores"]), "threshold": ctx.threshold,
        **(fluency or {"perplexity": None, "fluency_model": None}),
    }


# -- routers ---------------------------------------------------------------------------------

def route_start(state: State) -> Literal["write_scenario", "e_step"]:
    """Start from the given scenario, if any."""
    return "e_step" if state.scenario.strip() else "write_scenario"


def route_after_round(exit_reason: str | None) -> Literal["m_step", "__end__"]:
    """The exit router: on to the M-step, or the end when ``exit_reason`` (rounds, budget or no
    improvement, decided in ``e_step``) is set. ``e_step`` routes with it in its ``Command``,
    which saves LangGraph a branch evaluation per round."""
    return END if exit_reason else "m_step"


def build_graph() -> StateGraph:
    """The uncompiled DeNEVIL graph; compile it with a checkpointer for resumable runs."""
    builder = StateGraph(State, input_schema=InputState, context_schema=Context)
    builder.add_node(write_scenario)
    builder.add_node(e_step)
    builder.add_node(m_step)
    builder.add_conditional_edges(START, on_loop(route_start))
    builder.add_edge("write_scenario", "e_step")
    builder.add_edge("m_step", "e_step")
    return builder


# Studio / `langgraph dev` load this (no checkpointer: the server brings its own).
graph = build_graph().compile(name="DeNEVIL").with_config(recursion_limit=200)
