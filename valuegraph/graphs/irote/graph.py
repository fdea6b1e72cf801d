"""The IROTE loop (spec §1.4, the authors' code semantics) for one target trait.

    seed_corpus -> evaluate --exit?--> END (the result is set)
                     ^         |
                     |         v
             compactness <- propose

- ``seed_corpus``: the optimizer writes ``initial_sets x set_size`` first-person reflection
  lines (or the caller gives them); consecutive chunks of ``set_size`` lines form the initial
  sets, the last one padded with random lines.
- ``evaluate``: every pending set's reward R: each trait-eliciting item is asked separately
  with the reflection block in front, under every context handler (0, 1, 10, 20 distractor
  turns) and every line order; scores are averaged per questionnaire, the handlers' min taken,
  the orders averaged (``values/irote_objective``). Evaluated sets join the pool, the lines of
  optimised sets join the corpus unless a near-duplicate is there, and the exit router decides;
  the evaluation that stops the loop writes the result.
- ``propose``: ``optimization_beam`` groups of ``k_shot`` pool sets, each set one optimize
  prompt (its lines and score; two turns with a chain of thought), plus ``summarization_beam``
  summaries of the whole shuffled corpus; numbered lines are parsed into new sets.
- ``compactness``: every new set's ``term1 - term2`` from the judge's p(A | B) against the pool
  and the corpus; the ``top_k`` best go on to ``evaluate``.

The best set is the one with the highest reward over the optimisation rounds (iteration 0 only
when no round ran), as the authors' analysis notebook picks it.
"""

from __future__ import annotations

import asyncio
import random
from collections import defaultdict
from typing import Any, Literal

from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime
from langgraph.types import Command

from valuegraph.agents import Judge, Optimizer, Role, Target
from valuegraph.graphs._shared.budget import LoopLimits, exit_reason
from valuegraph.graphs._shared.seeds import call_seed
from valuegraph.graphs.irote.context import Context
from valuegraph.graphs.irote.dedup import novel_lines
from valuegraph.graphs.irote.scoring import (
    ProbabilityEstimator,
    answer_item,
    item_messages,
    parse_lines,
    render_lines,
    resolve_method,
)
from valuegraph.graphs.irote.state import InputState, RefSet, State
from valuegraph.tools.usage import metered
from valuegraph.values import irote_objective as objective
from valuegraph.values.theories import Dimension
from valuegraph.values.trait_items import (
    TraitItem,
    load_distractors,
    load_trait_items,
    select_items,
    theory_of,
)

SEED_BATCH = 10
"""Seed lines asked for per request [R] (the code's generator wrote 200 per dimension)."""
SEED_ATTEMPTS = 2
"""Rounds of seed requests before a trait with too few parsed lines fails."""


# -- helpers ---------------------------------------------------------------------------------

def trait_of(state: InputState) -> tuple[str, Dimension]:
    """The state's trait system and dimension.

    Raises:
        ValueError: unknown trait system or dimension (the message lists what is allowed).
    """
    try:
        theory = theory_of(state.theory)
        return state.theory.strip().lower().replace("-", "_"), theory.get(state.dimension)
    except KeyError as exc:
        raise ValueError(exc.args[0]) from None


def trait_id(state: InputState) -> str:
    theory, dim = trait_of(state)
    return f"{theory}:{dim.code}"


def trait_items(ctx: Context, state: InputState) -> list[TraitItem]:
    """The trait-eliciting items: the state's, or the shipped train items of the trait."""
    theory, dim = trait_of(state)
    if state.items:
        items = [TraitItem(**item) for item in state.items]
    else:
        shipped = ctx.res.memo(("irote", "items"), load_trait_items)
        items = select_items(shipped, theory, dim.code, "train")
    items = items[: ctx.max_items] if ctx.max_items else items
    if not items:
        raise ValueError(f"no trait-eliciting items for {theory}:{dim.code}")
    return items


def distractors(ctx: Context) -> list[tuple[str, str]]:
    return ctx.res.memo(("irote", "distractors"), load_distractors)


def optimizer(ctx: Context) -> Optimizer:
    return ctx.role(Optimizer, ctx.optimizer, temperature=ctx.optimizer_temperature,
                    top_p=ctx.optimizer_top_p, max_tokens=ctx.optimizer_max_tokens)


def target(ctx: Context) -> Target:
    return ctx.role(Target, ctx.target)


def judge(ctx: Context) -> Role:
    return ctx.role(Judge, ctx.judge)


async def warm_up(ctx: Context) -> None:
    """The roles' backends and the shipped items and distractors, made off the event loop (once
    per run): ``langgraph dev`` refuses blocking calls inside it."""
    await ctx.res.warm_up((spec, ctx.api_base(spec))
                          for spec in (ctx.target, ctx.optimizer, ctx.judge))
    await asyncio.to_thread(lambda: (ctx.res.memo(("irote", "items"), load_trait_items),
                                     distractors(ctx)))


def new_set(set_id: str, iteration: int, origin: str, parent: str | None,
            lines: list[str]) -> RefSet:
    return {"id": set_id, "iteration": iteration, "origin": origin, "parent": parent,
            "lines": lines, "reward": None, "evocativeness": None, "order_scores": [],
            "handler_scores": [], "item_scores": {}, "unscored": 0, "compactness": None,
            "term1": None, "term2": None}


def initial_sets(lines: list[str], ctx: Context, rng: random.Random) -> list[RefSet]:
    """Consecutive chunks of ``set_size`` lines (at most ``initial_sets``); a short last chunk
    is padded with random other lines (the code's sliding window)."""
    chunks = [lines[i:i + ctx.set_size] for i in range(0, len(lines), ctx.set_size)]
    chunks = chunks[: ctx.initial_sets]
    last = chunks[-1]
    if len(last) < ctx.set_size:
        others = [line for line in lines if line not in last]
        last.extend(rng.sample(others, min(len(others), ctx.set_size - len(last))))
    return [new_set(f"r0-{n}", 0, "seed", None, chunk) for n, chunk in enumerate(chunks)]


def line_orders(refset: RefSet, ctx: Context) -> list[list[str]]:
    """The original order and ``line_orders - 1`` seeded shuffles."""
    orders = [list(refset["lines"])]
    for n in range(1, ctx.line_orders):
        shuffled = list(refset["lines"])
        random.Random(call_seed(ctx.seed, refset["id"], "order", n)).shuffle(shuffled)
        orders.append(shuffled)
    return orders


def best_set(pool: list[RefSet]) -> RefSet:
    """The highest reward over the optimisation rounds (the initial pool only when no round
    ran); ties go to the earlier set, unscored sets come last."""
    rounds = [s for s in pool if s["iteration"] > 0] or pool
    return min(rounds, key=lambda s: (s["reward"] is None, -(s["reward"] or 0.0)))


def lineage(pool: list[RefSet], refset: RefSet) -> list[str]:
    """Set ids from ``refset`` back through the sets its optimize prompts improved."""
    by_id = {s["id"]: s for s in pool}
    chain, current = [refset["id"]], refset
    while current["parent"] is not None and current["parent"] in by_id:
        current = by_id[current["parent"]]
        chain.append(current["id"])
    return chain


def recursion_limit(ctx: Context) -> int:
    """Supersteps the loop can take (seed, evaluate, 3 per round), with a margin."""
    return 3 * (ctx.rounds + 1) + 10


# -- nodes -----------------------------------------------------------------------------------

async def seed_corpus(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    """The corpus (given, or written by the optimizer) and the initial sets."""
    ctx = runtime.context
    await warm_up(ctx)
    tid = trait_id(state)
    lines = list(dict.fromkeys(" ".join(line.split()) for line in state.corpus if line.strip()))
    with metered() as meter:
        if not lines:
            lines = await write_seed_lines(ctx, state)
    if len(lines) < ctx.set_size:
        raise ValueError(f"{tid}: {len(lines)} seed line(s), fewer than set_size "
                         f"({ctx.set_size})")
    sets = initial_sets(lines, ctx, random.Random(call_seed(ctx.seed, tid, "pad")))
    return {"corpus": lines, "pending": sets, "round": 0, "requests": meter.requests}


async def write_seed_lines(ctx: Context, state: State) -> list[str]:
    """``initial_sets x set_size`` lines from the optimizer, ``SEED_BATCH`` per request."""
    tid = trait_id(state)
    _, dim = trait_of(state)
    needed = ctx.initial_sets * ctx.set_size
    writer, templates = optimizer(ctx), ctx.templates()
    lines: list[str] = []
    for attempt in range(SEED_ATTEMPTS):
        missing = needed - len(lines)
        counts = [min(SEED_BATCH, missing - start) for start in range(0, missing, SEED_BATCH)]
        replies = await asyncio.gather(*(writer.ask(None, templates.render(
            "SEED_PROMPT", trait=dim.name, definition=dim.definition, count=count,
            words=ctx.words_limit), seed=call_seed(ctx.seed, tid, 0, f"seed{attempt}-{j}"))
            for j, count in enumerate(counts)))
        for reply in replies:
            lines.extend(parse_lines(reply[0].text))
        lines = list(dict.fromkeys(lines))[:needed]
        if len(lines) >= needed:
            break
    return lines


async def evaluate_set(ctx: Context, tid: str, refset: RefSet, items: list[TraitItem],
                       method: str) -> RefSet:
    """The set's reward: every item under every context handler and line order."""
    templates, model, turns_list = ctx.templates(), target(ctx), ctx.distractor_turns
    history = distractors(ctx)
    orders = line_orders(refset, ctx)
    unique = list(dict.fromkeys(tuple(o) for o in orders))  # a 1-line set has one order

    async def answers_of(lines: tuple[str, ...]) -> list[Any]:
        block = templates.render("REFLECTION_BLOCK", insights=render_lines(lines))
        return list(await asyncio.gather(*(
            answer_item(model, item_messages(templates, block, item, history, turns), item,
                        method, seed=call_seed(ctx.seed, tid, turns, item.id),
                        temperature=ctx.item_temperature, max_tokens=ctx.item_max_tokens)
            for turns in turns_list for item in items)))

    by_order = dict(zip(unique, await asyncio.gather(*(answers_of(o) for o in unique)),
                        strict=True))
    scores, bounds, item_scores, unscored = [], [], {}, 0
    for n, order in enumerate(orders):
        answers = by_order[tuple(order)]
        per_handler: dict[str, dict[str, list[float | None]]] = {}
        per_handler_bound: dict[str, dict[str, list[float | None]]] = {}
        for h, turns in enumerate(turns_list):
            chunk = answers[h * len(items):(h + 1) * len(items)]
            item_scores[f"{n}/{turns}"] = [a.score for a in chunk]
            unscored += sum(a.score is None for a in chunk)
            groups: dict[str, list[float | None]] = defaultdict(list)
            bound_groups: dict[str, list[float | None]] = defaultdict(list)
            for item, answer in zip(items, chunk, strict=True):
                groups[item.questionnaire].append(answer.score)
                bound_groups[item.questionnaire].append(answer.bound)
            per_handler[str(turns)] = dict(groups)
            per_handler_bound[str(turns)] = dict(bound_groups)
        scores.append(per_handler)
        bounds.append(per_handler_bound)
    return {**refset, "reward": objective.set_reward(scores),
            "evocativeness": objective.set_reward(bounds),
            "order_scores": [objective.order_score(h) for h in scores],
            "handler_scores": [{t: objective.handler_score(q) for t, q in h.items()}
                               for h in scores],
            "item_scores": item_scores, "unscored": unscored}


async def evaluate(state: State,
                   runtime: Runtime[Context]) -> Command[Literal["propose", "__end__"]]:
    """Reward every pending set, add them to the pool (and their lines to the corpus), and
    decide the exit; the evaluation that stops the loop writes the result."""
    ctx = runtime.context
    await warm_up(ctx)
    tid, items = trait_id(state), trait_items(ctx, state)
    method = resolve_method(target(ctx), ctx.reward_method, "generate")
    with metered() as meter:
        scored = list(await asyncio.gather(*(evaluate_set(ctx, tid, s, items, method)
                                             for s in state.pending)))
    corpus = list(state.corpus)
    if state.round > 0:
        candidates = [line for s in scored for line in s["lines"]]
        corpus += await asyncio.to_thread(novel_lines, corpus, candidates, ctx.dedup_threshold,
                                          ctx.embedder)
    rewards = [s["reward"] for s in scored if s["reward"] is not None]
    best_now = max(rewards) if rewards else None
    requests = state.requests + meter.requests
    reason = exit_reason(LoopLimits(ctx.rounds, ctx.max_requests), state.round, requests, [])
    update: dict[str, Any] = {"pool": scored, "pending": [], "corpus": corpus,
                              "round_best": [best_now], "requests": meter.requests,
                              "exit_reason": reason}
    if reason is not None:
        update["result"] = final_result(ctx, state, [*state.pool, *scored],
                                        [*state.round_best, best_now], requests, reason, items)
    return Command(update=update, goto=END if reason else "propose")


async def propose(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    """New candidate sets: optimize prompts on drawn pool sets, and corpus summaries."""
    ctx = runtime.context
    await warm_up(ctx)
    tid, (_, dim) = trait_id(state), trait_of(state)
    round_ = state.round + 1
    templates, writer = ctx.templates(), optimizer(ctx)
    rng = random.Random(call_seed(ctx.seed, tid, round_, "draw"))
    drawn = [s for _ in range(ctx.optimization_beam)
             for s in rng.sample(state.pool, min(ctx.k_shot, len(state.pool)))]
    words = ctx.words_limit

    async def optimize(j: int, refset: RefSet) -> str:
        score = "unknown" if refset["reward"] is None else f"{refset['reward']:.2f}"
        text = templates.render("OPTIMIZE_PROMPT", trait=dim.name, definition=dim.definition,
                                policy=render_lines(refset["lines"]), score=score, words=words)
        if not ctx.use_cot:
            return (await writer.ask(None, text + templates.render("DIRECT_SUFFIX"), seed=(
                call_seed(ctx.seed, tid, round_, "optimize", j))))[0].text
        first = [{"role": "user", "content": text + templates.render("COT_SUFFIX")}]
        thought = (await writer.complete(first, seed=call_seed(
            ctx.seed, tid, round_, "optimize", j, "think")))[0].text
        follow = [*first, {"role": "assistant", "content": thought},
                  {"role": "user", "content": templates.render("COT_FOLLOW_UP", words=words)}]
        return (await writer.complete(follow, seed=call_seed(
            ctx.seed, tid, round_, "optimize", j, "write")))[0].text

    async def summarize(j: int) -> str:
        lines = list(state.corpus)
        random.Random(call_seed(ctx.seed, tid, round_, "corpus", j)).shuffle(lines)
        lines = lines[: ctx.corpus_limit] if ctx.corpus_limit else lines
        text = templates.render("SUMMARIZE_PROMPT", trait=dim.name, definition=dim.definition,
                                corpus=render_lines(lines), words=words)
        return (await writer.ask(None, text, seed=call_seed(
            ctx.seed, tid, round_, "summarize", j)))[0].text

    with metered() as meter:
        replies = await asyncio.gather(
            *(optimize(j, s) for j, s in enumerate(drawn)),
            *(summarize(j) for j in range(ctx.summarization_beam)))
    origins = [("optimize", s["id"]) for s in drawn] + \
        [("summarize", None)] * ctx.summarization_beam
    seen = {frozenset(s["lines"]) for s in state.pool}
    candidates: list[RefSet] = []
    for reply, (origin, parent) in zip(replies, origins, strict=True):
        lines = parse_lines(reply)
        if not lines or frozenset(lines) in seen:
            continue  # empty, or a set already in the pool or proposed this round
        seen.add(frozenset(lines))
        candidates.append(new_set(f"r{round_}-{len(candidates)}", round_, origin, parent,
                                  lines))
    return {"pending": candidates, "round": round_, "requests": meter.requests}


async def compactness(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    """Score the new sets' compactness (term1 - term2) and keep the ``top_k`` best."""
    ctx = runtime.context
    await warm_up(ctx)
    candidates = state.pending
    if not candidates:
        return {"pending": []}
    pool = list(state.pool)
    if ctx.compactness_pool is not None:
        pool = sorted(pool, key=lambda s: (s["reward"] is None, -(s["reward"] or 0.0)))
        pool = pool[: ctx.compactness_pool]
    corpus = state.corpus[: ctx.corpus_limit] if ctx.corpus_limit else state.corpus
    role = judge(ctx)
    estimator = ProbabilityEstimator(
        role, ctx.templates(), resolve_method(role, ctx.probability_method, "rating"),
        seed=ctx.seed, key=trait_id(state), temperature=ctx.judge_temperature,
        max_tokens=ctx.judge_max_tokens)
    new_texts = [render_lines(c["lines"]) for c in candidates]
    pool_texts = [render_lines(s["lines"]) for s in pool]
    corpus_text = render_lines(corpus)
    with metered() as meter:
        forward, backward, from_corpus = await asyncio.gather(
            asyncio.gather(*(estimator.by_condition(p, new_texts) for p in pool_texts)),
            asyncio.gather(*(estimator.by_condition(n, [*pool_texts, corpus_text])
                             for n in new_texts)),
            estimator.by_condition(corpus_text, new_texts))
    scores = objective.compactness_scores(
        [[forward[k][i] for k in range(len(pool))] for i in range(len(candidates))],
        [b[:-1] for b in backward], from_corpus, [b[-1] for b in backward])
    kept = set(objective.top_k([s.score for s in scores], ctx.top_k))
    scored = [{**c, "compactness": s.score, "term1": s.term1, "term2": s.term2}
              for c, s in zip(candidates, scores, strict=True)]
    proposals = [{"round": c["iteration"], "id": c["id"], "origin": c["origin"],
                  "parent": c["parent"], "lines": c["lines"], "compactness": c["compactness"],
                  "term1": c["term1"], "term2": c["term2"], "kept": n in kept}
                 for n, c in enumerate(scored)]
    return {"pending": [c for n, c in enumerate(scored) if n in kept],
            "proposals": proposals, "requests": meter.requests}


def final_result(ctx: Context, state: State, pool: list[RefSet], round_best: list[float | None],
                 requests: int, reason: str, items: list[TraitItem]) -> dict[str, Any]:
    """The auditable result: the best set, its scores and lineage, every set and proposal."""
    theory, dim = trait_of(state)
    best = best_set(pool)
    return {
        "trait_id": f"{theory}:{dim.code}", "theory": theory, "dimension": dim.code,
        "trait_name": dim.name, "lines": best["lines"],
        "text": ctx.templates().render("REFLECTION_BLOCK", insights=render_lines(best["lines"])),
        "set_id": best["id"], "iteration": best["iteration"], "reward": best["reward"],
        "evocativeness": best["evocativeness"], "compactness": best["compactness"],
        "lineage": lineage(pool, best), "sets": pool, "proposals": state.proposals,
        "round_best": round_best,
        "rounds": state.round, "exit_reason": reason, "requests": requests,
        "target": ctx.target, "optimizer": ctx.optimizer, "judge": ctx.judge, "seed": ctx.seed,
        "reward_method": resolve_method(target(ctx), ctx.reward_method, "generate"),
        "probability_method": resolve_method(judge(ctx), ctx.probability_method, "rating"),
        "items": [i.id for i in items], "distractor_turns": ctx.distractor_turns,
        "line_orders": ctx.line_orders,
    }


def build_graph() -> StateGraph:
    """The uncompiled IROTE graph; compile it with a checkpointer for resumable runs."""
    builder = StateGraph(State, input_schema=InputState, context_schema=Context)
    builder.add_node(seed_corpus)
    builder.add_node(evaluate)
    builder.add_node(propose)
    builder.add_node(compactness)
    builder.add_edge(START, "seed_corpus")
    builder.add_edge("seed_corpus", "evaluate")
    builder.add_edge("propose", "compactness")
    builder.add_edge("compactness", "evaluate")
    return builder


# Studio / `langgraph dev` load this (no checkpointer: the server brings its own).
graph = build_graph().compile(name="IROTE").with_config(recursion_limit=100)
