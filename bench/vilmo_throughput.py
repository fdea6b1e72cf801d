"""VILMO graph throughput against a local OpenAI-compatible server that answers instantly.

The graph (pool, judge, SQLite checkpointer as `valuegraph run` opens it; no completion cache)
runs over N scenarios with its default exit rule (T = 3, patience 1) and K samples, C graphs at a
time, with the runner's default durability (one checkpoint per scenario). In the same run, a
bare asyncio script makes the same sequence of requests (same bodies, same concurrency, the
same exit decisions from the judge's logprobs) with raw ``aiohttp``, and the pool alone makes
them without a graph. The server's judge always answers Yes with p = 0.7, so each scenario
takes an instruction, two rounds (the rate does not fall) and one revision: 2 + 2 (1 + K)
requests in 3 graph steps. The passes of each
path are interleaved and the median counts; the client and the server are pinned to separate
cores.

    python bench/vilmo_throughput.py [--scenarios 50] [--samples 8] [--concurrency 16] \
        [--repeat 11]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import math
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import Timing, result_line, timed  # noqa: E402
from denevil_throughput import pin_cores  # noqa: E402

from valuegraph.graphs._shared.moral_prompts import MoralPrompt  # noqa: E402
from valuegraph.graphs._shared.resources import Resources  # noqa: E402
from valuegraph.graphs._shared.runner import Item  # noqa: E402
from valuegraph.graphs._shared.seeds import call_seed  # noqa: E402
from valuegraph.graphs.vilmo import prompts  # noqa: E402
from valuegraph.graphs.vilmo.context import Context  # noqa: E402
from valuegraph.graphs.vilmo.graph import (  # noqa: E402
    build_graph,
    clean_instruction,
    feedback_lines,
)
from valuegraph.graphs.vilmo.runner import RUNNER  # noqa: E402
from valuegraph.testing.process import start_server  # noqa: E402
from valuegraph.tools.checkpoint import open_checkpointer  # noqa: E402
from valuegraph.tools.pool import ModelPool  # noqa: E402
from valuegraph.values.theories import MORAL_FOUNDATIONS  # noqa: E402

JUDGE_RULE = {"match": "Answer with one word, Yes or No", "reply": "Yes",
              "logprobs": {"Yes": math.log(0.7), "No": math.log(0.3)}}
SPEC = "openai/test"
PATHS = ("graph", "aiohttp", "pool")
"""The graph, the bare script on raw aiohttp (the baseline), the pool alone (no graph)."""


def scenarios(n: int) -> list[MoralPrompt]:
    codes = MORAL_FOUNDATIONS.codes
    return [MoralPrompt(f"s{i}", f"Story {i}: Kim could bend the rules today.",
                        f"Principle {i}: do not bend the rules.", codes[i % len(codes)])
            for i in range(n)]


async def graph_run(items: list[MoralPrompt], ctx: Context, concurrency: int,
                    checkpoints: Path) -> int:
    """Run the graphs as the runner does; returns the number of graph steps taken."""
    checkpoints.mkdir(parents=True, exist_ok=True)
    async with open_checkpointer("sqlite", checkpoints) as saver:
        compiled = build_graph().compile(checkpointer=saver)
        gate = asyncio.Semaphore(concurrency)

        async def one(p: MoralPrompt) -> int:
            async with gate:
                item = Item(p.id, {"prompt_id": p.id, "scenario": p.prompt,
                                   "principle": p.principle, "foundation": p.foundation}, p)
                result = await RUNNER.run_item(compiled, item, ctx)
                return 1 + len(result["history"])  # write_instruction, one evaluate a round

        try:
            return sum(await asyncio.gather(*(one(p) for p in items)))
        finally:
            await ctx.pool.aclose()


async def bare_run(items: list[MoralPrompt], ctx: Context, concurrency: int, api_base: str,
                   kind: str) -> None:
    """The same requests as the graph, and the same decisions, with raw aiohttp (or through
    the pool alone, ``kind="pool"``)."""
    gate = asyncio.Semaphore(concurrency)
    if kind == "aiohttp":
        import aiohttp

        session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))

        async def chat(messages: list[dict[str, str]], **params: object) -> list[dict]:
            async with session.post(f"{api_base}/chat/completions", json={
                    "model": "test", "messages": messages, **params}) as response:
                body = await response.json()
            return body["choices"]

        close = session.close
    else:
        pool = ModelPool(None, api_bases={SPEC: api_base})

        async def chat(messages: list[dict[str, str]], **params: object) -> list[dict]:
            got = await pool.generate(SPEC, messages, **params)
            return [{"message": {"content": c.text},
                     "logprobs": {"content": [{"token": t.token, "logprob": t.logprob,
                                               "top_logprobs": [{"token": k, "logprob": v}
                                                                for k, v in t.top.items()]}
                                              for t in (c.logprobs or [])]}} for c in got]

        close = pool.aclose

    def p_yes(choice: dict) -> float:
        top = {t["token"]: t["logprob"] for t in choice["logprobs"]["content"][0]["top_logprobs"]}
        yes, no = math.exp(top.get("Yes", -math.inf)), math.exp(top.get("No", -math.inf))
        return yes / (yes + no)

    def user(text: str) -> list[dict[str, str]]:
        return [{"role": "user", "content": text}]

    generator = {"temperature": ctx.generator_temperature, "top_p": 1.0,
                 "max_tokens": ctx.generator_max_tokens, "n": 1}

    async def one(p: MoralPrompt) -> None:
        async with gate:
            dim = MORAL_FOUNDATIONS.get(p.foundation)
            instruction = clean_instruction((await chat(user(prompts.INSTRUCTION_PROMPT.format(
                scenario=p.prompt, principle=p.principle, foundation=dim.name,
                foundation_definition=dim.definition)), **generator,
                seed=call_seed(ctx.seed, p.id, 0, "instruction")))[0]["message"]["content"])
            best = math.inf
            for round_ in range(ctx.rounds + 1):
                texts = [c["message"]["content"] for c in await chat(
                    [{"role": "system", "content": instruction},
                     *user(prompts.CONTINUE_PROMPT.format(scenario=p.prompt))],
                    temperature=ctx.target_temperature, top_p=ctx.target_top_p,
                    max_tokens=ctx.target_max_tokens, n=ctx.samples,
                    seed=call_seed(ctx.seed, p.id, round_, "sample"))]
                scores = await asyncio.gather(*(judge(p, t) for t in texts))
                violating = sum(s > ctx.threshold for s in scores)
                rate = violating / len(scores)
                # the graph's exit rule: no violation, T rounds, or the rate stopped falling
                if rate == 0 or round_ >= ctx.rounds or rate >= best:
                    return
                best = rate
                record = {"completions": texts, "scores": scores}
                instruction = clean_instruction((await chat(user(prompts.REVISE_PROMPT.format(
                    scenario=p.prompt, principle=p.principle, foundation=dim.name,
                    instruction=instruction, violating=violating, scored=len(scores),
                    feedback=feedback_lines(record, ctx.feedback))), **generator,
                    seed=call_seed(ctx.seed, p.id, round_ + 1, "revise")))[0]["message"][
                    "content"])

    async def judge(p: MoralPrompt, text: str) -> float:
        reply = await chat(user(prompts.JUDGE_PROMPT.format(
            principle=p.principle, scenario=p.prompt, continuation=text)), temperature=0.0,
            top_p=1.0, max_tokens=8, logprobs=True, top_logprobs=10, n=1)
        return p_yes(reply[0])

    await asyncio.gather(*(one(p) for p in items))
    await close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenarios", type=int, default=50)
    parser.add_argument("--samples", type=int, default=8)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--repeat", type=int, default=11,
                        help="passes per path, interleaved; the median counts (shared machines)")
    args = parser.parse_args()
    items = scenarios(args.scenarios)
    server = start_server(rules=[JUDGE_RULE])
    pinned = pin_cores(server.process.pid)
    tmp = Path(tempfile.mkdtemp(prefix="vilmo-bench-"))
    timings: dict[str, list[Timing]] = {}
    calls: dict[str, set[tuple[int, int, str]]] = {}
    steps = 0
    try:
        ctx = Context(generator=SPEC, target=SPEC, judge=SPEC, api_bases={SPEC: server.api_base},
                      resources=Resources(ModelPool(None, api_bases={SPEC: server.api_base})),
                      samples=args.samples, judge_method="logprobs")
        warm = scenarios(4)
        asyncio.run(graph_run(warm, ctx, args.concurrency, tmp / "warm"))
        for kind in PATHS[1:]:
            asyncio.run(bare_run(warm, ctx, args.concurrency, server.api_base, kind))
        gc.collect()
        gc.freeze()
        for number, path in enumerate([p for _ in range(args.repeat) for p in PATHS]):
            server.admin(reset=True)
            with timed() as timing:
                if path == "graph":
                    steps = asyncio.run(graph_run(items, ctx, args.concurrency,
                                                  tmp / f"graph{number}"))
                else:
                    asyncio.run(bare_run(items, ctx, args.concurrency, server.api_base, path))
            admin = server.admin()
            calls.setdefault(path, set()).add((admin["requests"], admin["distinct_answered"],
                                               admin["bodies_digest"]))
            timings.setdefault(path, []).append(timing)
    finally:
        server.stop()
    if len({frozenset(c) for c in calls.values()}) != 1 or len(calls["graph"]) != 1:
        raise SystemExit(f"(requests, distinct bodies, digest of the bodies) per path differ "
                         f"({calls}): not the same calls")
    n_calls, distinct, _ = next(iter(calls["graph"]))
    best = {path: sorted(runs, key=lambda t: t.wall)[len(runs) // 2]
            for path, runs in timings.items()}
    cps = {path: n_calls / t.wall for path, t in best.items()}
    ms_per_step = (best["graph"].cpu - best["pool"].cpu) / steps * 1000
    print(f"{len(items)} scenarios, T={ctx.rounds} (patience {ctx.patience}), K={args.samples}, "
          f"concurrency {args.concurrency}: {n_calls} requests per path ({distinct} distinct "
          f"bodies, the same on every path), {steps} graph steps; median of {args.repeat} "
          f"interleaved passes; {pinned}")
    labels = {"graph": "graph, durability=exit", "aiohttp": "bare asyncio (aiohttp client)",
              "pool": "pool only, no graph"}
    for path in PATHS:
        walls = sorted(t.wall for t in timings[path])
        print(f"{labels[path]:32s}: {best[path].wall:6.2f} s {cps[path]:7.1f} calls/s  "
              f"cpu {best[path].cpu / n_calls * 1000:.3f} ms/call  (passes {walls[0]:.2f}"
              f"-{walls[-1]:.2f} s)")
    print(f"graph: ratio to bare {cps['graph'] / cps['aiohttp']:.3f}, to the pool alone "
          f"{cps['graph'] / cps['pool']:.3f}; CPU per step over the pool alone "
          f"{ms_per_step:.2f} ms")
    print(result_line(ratio=cps["graph"] / cps["aiohttp"], graph_cps=cps["graph"],
                      bare_cps=cps["aiohttp"], pool_cps=cps["pool"], ms_per_step=ms_per_step,
                      requests=n_calls))


if __name__ == "__main__":
    main()
