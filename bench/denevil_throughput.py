"""DeNEVIL graph throughput against a local OpenAI-compatible server that answers instantly.

The graph (pool, judge, SQLite checkpointer as `valuegraph run` opens it; no completion cache)
runs over N principles with T rounds and K samples, C graphs at a time, with the runner's
default durability (one checkpoint per principle) and with a checkpoint after every step.
In the same run, a bare asyncio script makes the same sequence of requests (same bodies, same
concurrency) with raw ``aiohttp`` (``--openai`` adds the openai SDK), and the pool alone makes
them without a graph.
The ratio is taken against the fastest bare client. Then the graph runs over scripted in-process
models, one principle at a time, to time a step without HTTP.

    python bench/denevil_throughput.py [--principles 50] [--rounds 2] [--samples 8] \
        [--concurrency 16] [--durability exit] [--repeat 11] [--openai]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import math
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import Timing, result_line, timed  # noqa: E402

from valuegraph.graphs._shared.resources import Resources  # noqa: E402
from valuegraph.graphs._shared.runner import Item  # noqa: E402
from valuegraph.graphs._shared.seeds import call_seed  # noqa: E402
from valuegraph.graphs.denevil import prompts  # noqa: E402
from valuegraph.graphs.denevil.context import Context  # noqa: E402
from valuegraph.graphs.denevil.graph import build_graph  # noqa: E402
from valuegraph.graphs.denevil.principles import (  # noqa: E402
    Principle,
    load_principles,
    select_principles,
)
from valuegraph.graphs.denevil.runner import RUNNER  # noqa: E402
from valuegraph.testing.process import start_server  # noqa: E402
from valuegraph.tools.backends.mock_backend import register_mock  # noqa: E402
from valuegraph.tools.checkpoint import open_checkpointer  # noqa: E402
from valuegraph.tools.pool import ModelPool  # noqa: E402

JUDGE_RULE = {"match": "Answer with one word, Yes or No", "reply": "Yes",
              "logprobs": {"Yes": math.log(0.7), "No": math.log(0.3)}}
SPEC = "openai/test"
BARE_CLIENTS = ("aiohttp",)
"""The bare script's client: raw aiohttp, the fastest we found. ``--openai`` adds the openai SDK
(about 7 ms of CPU per call, 150 calls/s here); it runs its passes after the others, since the
garbage it leaves slowed the graph passes that followed it by a third."""
# Not a bare client: the model pool alone (no graph), to split the graph's cost from the pool's.
POOL_ONLY = "pool"
DURABILITIES = ("exit", "sync", "async")
DEFAULT_DURABILITY = "exit"  # the runner's default (ItemSettings.durability)


async def graph_run(principles: list[Principle], ctx: Context, concurrency: int,
                    checkpoints: Path, durability: str = DEFAULT_DURABILITY) -> int:
    """Run the graphs; returns the number of graph steps taken."""
    checkpoints.mkdir(parents=True, exist_ok=True)
    async with open_checkpointer("sqlite", checkpoints) as saver:  # as `valuegraph run` does
        compiled = build_graph().compile(checkpointer=saver)
        gate = asyncio.Semaphore(concurrency)

        async def one(principle: Principle) -> int:
            async with gate:
                item = Item(principle.id, {"principle_id": principle.id,
                                           "principle": principle.text,
                                           "foundation": principle.foundation}, principle)
                result = await RUNNER.run_item(compiled, item, ctx, durability)
                # write_scenario, one e_step per round, one m_step between rounds
                return 2 * len(result["history"])

        try:
            return sum(await asyncio.gather(*(one(p) for p in principles)))
        finally:
            await ctx.pool.aclose()  # as `valuegraph run` does at its end


async def bare_run(principles: list[Principle], ctx: Context, concurrency: int,
                   api_base: str, client_kind: str) -> None:
    """The same requests as the graph and nothing else: with raw ``aiohttp``, with the
    ``openai`` SDK (httpx), or through the model pool alone (``"pool"``)."""
    gate = asyncio.Semaphore(concurrency)
    if client_kind == "aiohttp":
        import aiohttp

        session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))

        async def chat(text: str, **params: object) -> list[str]:
            async with session.post(f"{api_base}/chat/completions", json={
                    "model": "test", "messages": [{"role": "user", "content": text}],
                    **params}) as response:
                body = await response.json()
            return [c["message"]["content"] or "" for c in body["choices"]]

        close = session.close
    elif client_kind == "openai":
        import openai

        client = openai.AsyncOpenAI(base_url=api_base, api_key="none", max_retries=0)

        async def chat(text: str, **params: object) -> list[str]:
            reply = await client.chat.completions.create(
                model="test", messages=[{"role": "user", "content": text}], **params)
            return [c.message.content or "" for c in reply.choices]

        close = client.close
    else:
        pool = ModelPool(None, api_bases={SPEC: api_base})

        async def chat(text: str, **params: object) -> list[str]:
            got = await pool.generate(SPEC, [{"role": "user", "content": text}], **params)
            return [c.text for c in got]

        close = pool.aclose

    async def one(p: Principle) -> None:
        async with gate:
            from valuegraph.values.theories import MORAL_FOUNDATIONS

            dim = MORAL_FOUNDATIONS.get(p.foundation)
            scenario = (await chat(
                prompts.SCENARIO_PROMPT.format(principle=p.text, foundation=dim.name,
                                               foundation_definition=dim.definition),
                temperature=ctx.attacker_temperature, top_p=1.0,
                max_tokens=ctx.attacker_max_tokens, seed=call_seed(ctx.seed, p.id, 0, "scenario"),
                n=1))[0]
            for round_ in range(ctx.rounds + 1):
                completions = await chat(
                    prompts.CONTINUE_PROMPT.format(scenario=scenario),
                    temperature=ctx.target_temperature, top_p=ctx.target_top_p,
                    max_tokens=ctx.target_max_tokens, n=ctx.samples,
                    seed=call_seed(ctx.seed, p.id, round_, "sample"))
                await asyncio.gather(*(chat(
                    prompts.JUDGE_PROMPT.format(principle=p.text, scenario=scenario,
                                                continuation=c),
                    temperature=0.0, top_p=1.0, max_tokens=8, logprobs=True, top_logprobs=10,
                    n=1) for c in completions))
                if round_ < ctx.rounds:
                    scenario = (await chat(
                        prompts.REWRITE_PROMPT.format(
                            principle=p.text, foundation=dim.name, scenario=scenario,
                            continuations="\n".join(completions[: ctx.keep])),
                        temperature=ctx.attacker_temperature, top_p=1.0,
                        max_tokens=ctx.attacker_max_tokens, n=1,
                        seed=call_seed(ctx.seed, p.id, round_ + 1, "rewrite")))[0]
            # the fresh evaluation of the accepted prompt (every round scores alike here, so the
            # last rewrite is accepted), in the E-step that ends the graph
            completions = await chat(
                prompts.CONTINUE_PROMPT.format(scenario=scenario),
                temperature=ctx.target_temperature, top_p=ctx.target_top_p,
                max_tokens=ctx.target_max_tokens, n=ctx.samples,
                seed=call_seed(ctx.seed, p.id, "evaluate"))
            await asyncio.gather(*(chat(
                prompts.JUDGE_PROMPT.format(principle=p.text, scenario=scenario, continuation=c),
                temperature=0.0, top_p=1.0, max_tokens=8, logprobs=True, top_logprobs=10,
                n=1) for c in completions))

    await asyncio.gather(*(one(p) for p in principles))
    await close()


def pin_cores(server_pid: int) -> str:
    """On two or more cores, the client (this process) runs on one and the server on the others,
    so that the scheduler cannot put both on one core during some passes and not others."""
    cores = sorted(os.sched_getaffinity(0))
    if len(cores) < 2:
        return "not pinned (one core)"
    os.sched_setaffinity(server_pid, set(cores[1:]))
    os.sched_setaffinity(0, {cores[0]})
    return f"client on core {cores[0]}, server on {len(cores) - 1} other core(s)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--principles", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--samples", type=int, default=8)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--durability", default=DEFAULT_DURABILITY, choices=DURABILITIES,
                        help=f"checkpoint writes of the graph (the runner's default: "
                             f"{DEFAULT_DURABILITY}); per-step 'sync' is timed as well")
    parser.add_argument("--openai", action="store_true",
                        help="also time a bare script on the openai SDK (slow; not the baseline"
                             " unless faster)")
    parser.add_argument("--repeat", type=int, default=11,
                        help="passes per path, interleaved; the median counts (shared machines)")
    args = parser.parse_args()
    principles = select_principles(load_principles(), limit=args.principles)
    if len(principles) < args.principles:
        principles = [Principle(f"{p.id}-{i}", p.text, p.foundation)
                      for i in range(math.ceil(args.principles / len(principles)))
                      for p in principles][: args.principles]
    durabilities = list(dict.fromkeys([args.durability, "sync"]))
    graphs = [f"graph:{d}" for d in durabilities]
    paths = (*graphs, *BARE_CLIENTS, POOL_ONLY)
    bare_clients = (*BARE_CLIENTS, "openai") if args.openai else BARE_CLIENTS
    server = start_server(rules=[JUDGE_RULE])
    pinned = pin_cores(server.process.pid)
    tmp = Path(tempfile.mkdtemp(prefix="denevil-bench-"))
    timings: dict[str, list[Timing]] = {}
    calls: dict[str, int] = {}
    try:
        pool = ModelPool(None, api_bases={SPEC: server.api_base})
        ctx = Context(attacker=SPEC, target=SPEC, judge=SPEC, api_bases={SPEC: server.api_base},
                      resources=Resources(pool), rounds=args.rounds, samples=args.samples,
                      judge_method="logprobs")
        # Warm up every client (imports, connections) outside the timed region.
        warm = [Principle(f"warm-{i}", p.text, p.foundation) for i, p in enumerate(principles[:4])]
        asyncio.run(graph_run(warm, ctx, args.concurrency, tmp / "warm"))
        for kind in (*bare_clients, POOL_ONLY):
            asyncio.run(bare_run(warm, ctx, args.concurrency, server.api_base, kind))
        # Objects alive now (imports, warm-up) are never collected: a full collection of them
        # costs about 0.4 s and would land in whichever pass happens to trigger it.
        gc.collect()
        gc.freeze()
        passes = [path for _ in range(args.repeat) for path in paths]
        # The openai SDK's passes go last: the garbage they leave slowed later passes by a third.
        passes += ["openai"] * args.repeat if args.openai else []
        for number, path in enumerate(passes):
            server.admin(reset=True)
            with timed() as timing:
                if path in graphs:
                    steps = asyncio.run(graph_run(principles, ctx, args.concurrency,
                                                  tmp / f"graph{number}", path.split(":")[1]))
                else:
                    asyncio.run(bare_run(principles, ctx, args.concurrency, server.api_base,
                                         path))
            calls[path] = server.admin()["requests"]
            timings.setdefault(path, []).append(timing)
    finally:
        server.stop()
    if len(set(calls.values())) != 1:
        raise SystemExit(f"requests per path differ ({calls}): not the same calls")
    n_calls = calls[graphs[0]]

    # A graph step without HTTP: scripted models, one principle at a time (wall time).
    register_mock("a", respond=lambda m, p, i: f"A scenario ({p.seed} {i}).")
    register_mock("t", respond=lambda m, p, i: f"A continuation {i}.")
    register_mock("j", respond=lambda m, p, i: "Yes")
    mock_ctx = Context(attacker="mock/a", target="mock/t", judge="mock/j",
                       resources=Resources(ModelPool(None)), rounds=args.rounds,
                       samples=args.samples, judge_method="vote", judge_votes=1)
    with timed() as mock_t:
        mock_steps = asyncio.run(graph_run(principles, mock_ctx, 1, tmp / "mock",
                                           args.durability))

    # The median pass of each path: on a shared machine single passes of any path run up to 20%
    # fast or slow, and a minimum would reward whichever path drew the luckiest pass.
    best = {path: sorted(runs, key=lambda t: t.wall)[len(runs) // 2]
            for path, runs in timings.items()}
    cps = {path: n_calls / t.wall for path, t in best.items()}
    bare_kind = max(bare_clients, key=lambda k: cps[k])  # the stricter baseline
    # The CPU a graph adds per step (nodes, state, checkpoint writes) over the same requests
    # made through the pool without a graph.
    ms_per_step = {g: (best[g].cpu - best[POOL_ONLY].cpu) / steps * 1000 for g in graphs}
    print(f"{len(principles)} principles, T={args.rounds}, K={args.samples}, concurrency "
          f"{args.concurrency}: {n_calls} requests per path, {steps} graph steps; median of "
          f"{args.repeat} interleaved passes; {pinned}")
    labels = {**{g: f"graph, durability={g.split(':')[1]}" for g in graphs},
              POOL_ONLY: "pool only, no graph",
              **{k: f"bare asyncio ({k} client)" for k in bare_clients}}
    for path in (*paths, *bare_clients[len(BARE_CLIENTS):]):
        walls = sorted(t.wall for t in timings[path])
        print(f"{labels[path]:34s}: {best[path].wall:6.2f} s {cps[path]:7.1f} calls/s  "
              f"cpu {best[path].cpu / n_calls * 1000:.3f} ms/call  (passes {walls[0]:.2f}"
              f"-{walls[-1]:.2f} s)")
    for g in graphs:
        print(f"{labels[g]}: ratio to bare ({bare_kind}) {cps[g] / cps[bare_kind]:.3f}, to the "
              f"pool alone {cps[g] / cps[POOL_ONLY]:.3f}; CPU per step over the pool alone "
              f"{ms_per_step[g]:.2f} ms")
    print(f"pool alone / bare: {cps[POOL_ONLY] / cps[bare_kind]:.3f}; graph over scripted "
          f"in-process models, one principle at a time: {mock_t.wall / mock_steps * 1000:.2f} ms"
          f" per step (wall, model calls included)")
    main_graph, sync_graph = graphs[0], "graph:sync"
    print(result_line(ratio=cps[main_graph] / cps[bare_kind], graph_cps=cps[main_graph],
                      bare_cps=cps[bare_kind], ms_per_step=ms_per_step[main_graph],
                      durability=args.durability,
                      ratio_sync=cps[sync_graph] / cps[bare_kind],
                      ms_per_step_sync=ms_per_step[sync_graph]))


if __name__ == "__main__":
    main()
