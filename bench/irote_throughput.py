"""IROTE graph throughput against a local OpenAI-compatible server that answers instantly.

The graph (pool, roles, SQLite checkpointer as `valuegraph run` opens it; no completion cache)
elicits N traits, C at a time, with the runner's default durability (one checkpoint per trait).
The server cannot score log-likelihoods, so the graph takes the authors' own estimators: parsed
item answers (every item under every context handler and line order) and six 0-10 judge
ratings per p(A | B) for compactness. In the same run, a bare asyncio script makes the same
requests (same bodies, same concurrency) with raw ``aiohttp``, computing with the same pure
functions (parsers, objective, de-duplication), and the pool alone makes them without a graph.
Request counts are checked equal; each path takes the median of interleaved passes; client and
server are pinned to different cores.

    python bench/irote_throughput.py [--traits 5] [--rounds 1] [--initial-sets 4] \
        [--concurrency 4] [--repeat 7]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import random
import sys
import tempfile
from collections import defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from _common import Timing, result_line, timed  # noqa: E402

from valuegraph.graphs._shared.resources import Resources  # noqa: E402
from valuegraph.graphs._shared.runner import Item  # noqa: E402
from valuegraph.graphs._shared.seeds import call_seed  # noqa: E402
from valuegraph.graphs.irote import prompts  # noqa: E402
from valuegraph.graphs.irote.context import Context  # noqa: E402
from valuegraph.graphs.irote.dedup import novel_lines  # noqa: E402
from valuegraph.graphs.irote.graph import (  # noqa: E402
    SEED_BATCH,
    build_graph,
    initial_sets,
    line_orders,
    new_set,
)
from valuegraph.graphs.irote.runner import RUNNER  # noqa: E402
from valuegraph.graphs.irote.scoring import item_messages, parse_lines, render_lines  # noqa: E402
from valuegraph.testing.irote_fakes import RULES  # noqa: E402
from valuegraph.testing.process import start_server  # noqa: E402
from valuegraph.tools.checkpoint import open_checkpointer  # noqa: E402
from valuegraph.tools.pool import ModelPool  # noqa: E402
from valuegraph.tools.templates import Templates  # noqa: E402
from valuegraph.values import irote_objective as obj  # noqa: E402
from valuegraph.values.theories import BIG_FIVE, MORAL_FOUNDATIONS  # noqa: E402
from valuegraph.values.trait_items import (  # noqa: E402
    TraitItem,
    load_distractors,
    load_trait_items,
    select_items,
)

SPEC = "openai/test"
GRAPH, BARE, POOL_ONLY = "graph", "aiohttp", "pool"
PATHS = (GRAPH, BARE, POOL_ONLY)


def traits(count: int) -> list[tuple[str, str]]:
    pairs = [("big_five", c) for c in BIG_FIVE.codes] + [("mft", c)
                                                         for c in MORAL_FOUNDATIONS.codes]
    return pairs[:count]


def items_of(theory: str, code: str) -> list[TraitItem]:
    return select_items(load_trait_items(), theory, code, "train")


async def graph_run(pairs: list[tuple[str, str]], ctx: Context, concurrency: int,
                    checkpoints: Path) -> int:
    """Run the graphs as the runner does; returns the requests they counted."""
    checkpoints.mkdir(parents=True, exist_ok=True)
    async with open_checkpointer("sqlite", checkpoints) as saver:
        compiled = build_graph().compile(checkpointer=saver)
        gate = asyncio.Semaphore(concurrency)

        async def one(theory: str, code: str) -> int:
            async with gate:
                item = Item(f"{theory}-{code}", {
                    "theory": theory, "dimension": code,
                    "items": [i.to_json() for i in items_of(theory, code)]})
                return (await RUNNER.run_item(compiled, item, ctx))["requests"]

        try:
            return sum(await asyncio.gather(*(one(t, c) for t, c in pairs)))
        finally:
            await ctx.pool.aclose()


async def bare_run(pairs: list[tuple[str, str]], ctx: Context, concurrency: int,
                   api_base: str, client_kind: str) -> None:
    """The graph's requests without the framework: raw ``aiohttp``, or the pool alone."""
    if client_kind == BARE:
        import aiohttp

        session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))

        async def chat(messages: list[dict[str, str]], **params: Any) -> str:
            async with session.post(f"{api_base}/chat/completions", json={
                    "model": "test", "messages": messages, "n": 1, **params}) as response:
                body = await response.json()
            return body["choices"][0]["message"]["content"] or ""

        close = session.close
    else:
        pool = ModelPool(None, api_bases={SPEC: api_base})

        async def chat(messages: list[dict[str, str]], **params: Any) -> str:
            return (await pool.generate(SPEC, messages, **params))[0].text

        close = pool.aclose

    templates = Templates.from_module(prompts)
    history = load_distractors()
    gate = asyncio.Semaphore(concurrency)
    opt = {"temperature": ctx.optimizer_temperature, "top_p": ctx.optimizer_top_p,
           "max_tokens": ctx.optimizer_max_tokens}

    def user(text: str) -> list[dict[str, str]]:
        return [{"role": "user", "content": text}]

    async def evaluate(tid: str, refset: dict, items: list[TraitItem]) -> dict:
        orders = line_orders(refset, ctx)
        unique = list(dict.fromkeys(tuple(o) for o in orders))

        async def answers_of(lines: tuple[str, ...]) -> list[float | None]:
            block = templates.render("REFLECTION_BLOCK", insights=render_lines(lines))
            replies = await asyncio.gather(*(chat(
                item_messages(templates, block, item, history, turns),
                temperature=ctx.item_temperature, top_p=1.0, max_tokens=ctx.item_max_tokens,
                seed=call_seed(ctx.seed, tid, turns, item.id))
                for turns in ctx.distractor_turns for item in items))
            ratings = [obj.parse_rating(r, i.points) for r, i in zip(
                replies, [i for _ in ctx.distractor_turns for i in items], strict=True)]
            return [None if r is None else obj.rescale_rating(r, i.points, i.reverse)
                    for r, i in zip(ratings, [i for _ in ctx.distractor_turns for i in items],
                                    strict=True)]

        scores = dict(zip(unique, await asyncio.gather(*(answers_of(o) for o in unique)),
                          strict=True))
        per_order = []
        for order in orders:
            flat = scores[tuple(order)]
            handlers = {}
            for h, turns in enumerate(ctx.distractor_turns):
                groups: dict[str, list[float | None]] = defaultdict(list)
                for item, score in zip(items, flat[h * len(items):(h + 1) * len(items)],
                                       strict=True):
                    groups[item.questionnaire].append(score)
                handlers[str(turns)] = dict(groups)
            per_order.append(handlers)
        return {**refset, "reward": obj.set_reward(per_order)}

    async def rated(tid: str, target: str, condition: str) -> float | None:
        calls = []
        for variant in prompts.RATE_VARIANTS:
            for layout in ("RATE_TEXTS", "RATE_TEXTS_SWAPPED"):
                texts = templates.render(layout, target=target, condition=condition)
                calls.append(chat(user(templates.render(variant, texts=texts)),
                                  temperature=ctx.judge_temperature, top_p=1.0,
                                  max_tokens=ctx.judge_max_tokens,
                                  seed=call_seed(ctx.seed, tid, "rate", variant, layout)))
        return obj.probability_from_ratings([obj.parse_judge_rating(r)
                                             for r in await asyncio.gather(*calls)])

    async def one(theory: str, code: str) -> None:
        async with gate:
            tid, dim = f"{theory}:{code}", (BIG_FIVE if theory == "big_five"
                                            else MORAL_FOUNDATIONS).get(code)
            items = items_of(theory, code)
            needed = ctx.initial_sets * ctx.set_size
            lines: list[str] = []
            for attempt in range(2):
                missing = needed - len(lines)
                counts = [min(SEED_BATCH, missing - s) for s in range(0, missing, SEED_BATCH)]
                replies = await asyncio.gather(*(chat(user(templates.render(
                    "SEED_PROMPT", trait=dim.name, definition=dim.definition, count=count,
                    words=ctx.words_limit)), **opt, seed=call_seed(
                        ctx.seed, tid, 0, f"seed{attempt}-{j}")) for j, count in enumerate(counts)))
                for reply in replies:
                    lines.extend(parse_lines(reply))
                lines = list(dict.fromkeys(lines))[:needed]
                if len(lines) >= needed:
                    break
            corpus = lines
            pending = initial_sets(lines, ctx, random.Random(call_seed(ctx.seed, tid, "pad")))
            pool_sets: list[dict] = []
            for round_ in range(ctx.rounds + 1):
                scored = await asyncio.gather(*(evaluate(tid, s, items) for s in pending))
                if round_ > 0:
                    corpus = corpus + novel_lines(corpus, [x for s in scored for x in s["lines"]],
                                                  ctx.dedup_threshold, ctx.embedder)
                pool_sets += scored
                if round_ == ctx.rounds:
                    break
                nxt = round_ + 1
                rng = random.Random(call_seed(ctx.seed, tid, nxt, "draw"))
                drawn = [s for _ in range(ctx.optimization_beam)
                         for s in rng.sample(pool_sets, min(ctx.k_shot, len(pool_sets)))]

                async def optimize(j: int, refset: dict, nxt: int = nxt) -> str:
                    score = "unknown" if refset["reward"] is None else f"{refset['reward']:.2f}"
                    first = user(templates.render(
                        "OPTIMIZE_PROMPT", trait=dim.name, definition=dim.definition,
                        policy=render_lines(refset["lines"]), score=score,
                        words=ctx.words_limit) + templates.render("COT_SUFFIX"))
                    thought = await chat(first, **opt, seed=call_seed(
                        ctx.seed, tid, nxt, "optimize", j, "think"))
                    return await chat([*first, {"role": "assistant", "content": thought},
                                       *user(templates.render("COT_FOLLOW_UP",
                                                              words=ctx.words_limit))],
                                      **opt, seed=call_seed(ctx.seed, tid, nxt, "optimize", j,
                                                            "write"))

                async def summarize(j: int, nxt: int = nxt, corpus: list[str] = corpus) -> str:
                    shuffled = list(corpus)
                    random.Random(call_seed(ctx.seed, tid, nxt, "corpus", j)).shuffle(shuffled)
                    return await chat(user(templates.render(
                        "SUMMARIZE_PROMPT", trait=dim.name, definition=dim.definition,
                        corpus=render_lines(shuffled), words=ctx.words_limit)), **opt,
                        seed=call_seed(ctx.seed, tid, nxt, "summarize", j))

                replies = await asyncio.gather(
                    *(optimize(j, s) for j, s in enumerate(drawn)),
                    *(summarize(j) for j in range(ctx.summarization_beam)))
                seen = {frozenset(s["lines"]) for s in pool_sets}
                candidates = []
                for reply in replies:
                    parsed = parse_lines(reply)
                    if parsed and frozenset(parsed) not in seen:
                        seen.add(frozenset(parsed))
                        candidates.append(new_set(f"r{nxt}-{len(candidates)}", nxt, "x", None,
                                                  parsed))
                new_texts = [render_lines(c["lines"]) for c in candidates]
                pool_texts = [render_lines(s["lines"]) for s in pool_sets]
                corpus_text = render_lines(corpus)
                forward, backward, from_corpus = await asyncio.gather(
                    asyncio.gather(*(asyncio.gather(*(rated(tid, t, p) for t in new_texts))
                                     for p in pool_texts)),
                    asyncio.gather(*(asyncio.gather(*(rated(tid, t, n)
                                                      for t in [*pool_texts, corpus_text]))
                                     for n in new_texts)),
                    asyncio.gather(*(rated(tid, t, corpus_text) for t in new_texts)))
                scores = obj.compactness_scores(
                    [[forward[k][i] for k in range(len(pool_texts))]
                     for i in range(len(candidates))],
                    [b[:-1] for b in backward], from_corpus, [b[-1] for b in backward])
                keep = obj.top_k([s.score for s in scores], ctx.top_k)
                pending = [candidates[i] for i in sorted(keep)]

    await asyncio.gather(*(one(t, c) for t, c in pairs))
    await close()


def pin_cores(server_pid: int) -> str:
    """Client on one core, server on the others (as bench/denevil_throughput.py)."""
    cores = sorted(os.sched_getaffinity(0))
    if len(cores) < 2:
        return "not pinned (one core)"
    os.sched_setaffinity(server_pid, set(cores[1:]))
    os.sched_setaffinity(0, {cores[0]})
    return f"client on core {cores[0]}, server on {len(cores) - 1} other core(s)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--traits", type=int, default=5, help="Big Five first, then MFT")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--initial-sets", type=int, default=4)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--repeat", type=int, default=7,
                        help="passes per path, interleaved; the median counts (shared machines)")
    args = parser.parse_args()
    pairs = traits(args.traits)
    server = start_server(rules=RULES)
    pinned = pin_cores(server.process.pid)
    tmp = Path(tempfile.mkdtemp(prefix="irote-bench-"))
    timings: dict[str, list[Timing]] = {}
    calls: dict[str, int] = {}
    try:
        def context(pool: ModelPool) -> Context:
            return Context(target=SPEC, optimizer=SPEC, judge=SPEC,
                           api_bases={SPEC: server.api_base}, resources=Resources(pool),
                           rounds=args.rounds, initial_sets=args.initial_sets,
                           embedder="hashing")

        ctx = context(ModelPool(None, api_bases={SPEC: server.api_base}))
        counted = asyncio.run(graph_run(pairs[:2], ctx, args.concurrency, tmp / "warm"))
        for kind in (BARE, POOL_ONLY):
            asyncio.run(bare_run(pairs[:2], ctx, args.concurrency, server.api_base, kind))
        gc.collect()
        gc.freeze()
        for number, path in enumerate(path for _ in range(args.repeat) for path in PATHS):
            server.admin(reset=True)
            with timed() as timing:
                if path == GRAPH:
                    counted = asyncio.run(graph_run(pairs, ctx, args.concurrency,
                                                    tmp / f"graph{number}"))
                else:
                    asyncio.run(bare_run(pairs, ctx, args.concurrency, server.api_base, path))
            sent = server.admin()
            if sent["repeated"]:
                raise SystemExit(f"{path}: {sent['repeated']} identical requests sent twice")
            calls[path] = sent["requests"]
            timings.setdefault(path, []).append(timing)
    finally:
        server.stop()
    if len(set(calls.values())) != 1 or counted != calls[GRAPH]:
        raise SystemExit(f"requests per path differ ({calls}, graph counted {counted}): not "
                         "the same calls")
    n_calls = calls[GRAPH]
    best = {path: sorted(runs, key=lambda t: t.wall)[len(runs) // 2]
            for path, runs in timings.items()}
    cps = {path: n_calls / t.wall for path, t in best.items()}
    print(f"{len(pairs)} traits, {args.rounds} round(s), {args.initial_sets} initial sets, "
          f"concurrency {args.concurrency}, paper defaults otherwise (4 context handlers, 2 "
          f"line orders, 9 + 2 proposals, top 3): {n_calls} requests per path; median of "
          f"{args.repeat} interleaved passes; {pinned}")
    labels = {GRAPH: "graph, durability=exit", BARE: "bare asyncio (aiohttp client)",
              POOL_ONLY: "pool only, no graph"}
    for path in PATHS:
        walls = sorted(t.wall for t in timings[path])
        print(f"{labels[path]:32s}: {best[path].wall:6.2f} s {cps[path]:7.1f} calls/s  cpu "
              f"{best[path].cpu / n_calls * 1000:.3f} ms/call  (passes {walls[0]:.2f}-"
              f"{walls[-1]:.2f} s)")
    print(f"graph / pool alone: {cps[GRAPH] / cps[POOL_ONLY]:.3f}; pool alone / bare: "
          f"{cps[POOL_ONLY] / cps[BARE]:.3f}")
    print(result_line(ratio=cps[GRAPH] / cps[BARE], graph_cps=cps[GRAPH], bare_cps=cps[BARE],
                      pool_cps=cps[POOL_ONLY], requests=n_calls,
                      graph_cpu_ms_per_call=best[GRAPH].cpu / n_calls * 1000,
                      bare_cpu_ms_per_call=best[BARE].cpu / n_calls * 1000))


if __name__ == "__main__":
    main()
