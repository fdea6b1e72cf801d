"""DeNEVIL graph throughput against a local OpenAI-compatible server that answers instantly.

The graph (pool, judge, SQLite checkpointer as `valuegraph run` opens it; no completion cache)
runs over N principles with T rounds and K samples, C graphs at a time. In the same run, bare
asyncio scripts make the same sequence of requests (same bodies, same concurrency) with the
``openai`` SDK and with raw ``aiohttp``, and the pool alone makes them without a graph. The
ratio is taken against the faster bare client. Then the graph runs over scripted in-process
models, one principle at a time, to time a step without HTTP.

    python bench/denevil_throughput.py [--principles 50] [--rounds 2] [--samples 8] \
        [--concurrency 16] [--durability sync] [--repeat 3]
"""

from __future__ import annotations

import argparse
import asyncio
import math
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import Timing, result_line, timed  # noqa: E402

from valuegraph.graphs._shared.runtime import bind_pool  # noqa: E402
from valuegraph.graphs.denevil import prompts  # noqa: E402
from valuegraph.graphs.denevil.context import Context  # noqa: E402
from valuegraph.graphs.denevil.graph import build_graph, call_seed  # noqa: E402
from valuegraph.graphs.denevil.principles import (  # noqa: E402
    Principle,
    load_principles,
    select_principles,
)
from valuegraph.graphs.denevil.runner import DURABILITIES, run_principle  # noqa: E402
from valuegraph.testing.process import start_server  # noqa: E402
from valuegraph.tools.backends.mock_backend import register_mock  # noqa: E402
from valuegraph.tools.checkpoint import open_checkpointer  # noqa: E402
from valuegraph.tools.pool import ModelPool  # noqa: E402

JUDGE_RULE = {"match": "Answer with one word, Yes or No", "reply": "Yes",
              "logprobs": {"Yes": math.log(0.7), "No": math.log(0.3)}}
SPEC = "openai/test"
BARE_CLIENTS = ("openai", "aiohttp")
# Not a bare client: the model pool alone (no graph), to split the graph's cost from the pool's.
POOL_ONLY = "pool"


async def graph_run(principles: list[Principle], ctx: Context, concurrency: int,
                    checkpoints: Path, durability: str = "sync") -> int:
    """Run the graphs; returns the number of graph steps taken."""
    checkpoints.mkdir(parents=True, exist_ok=True)
    async with open_checkpointer("sqlite", checkpoints) as saver:  # as `valuegraph run` does
        compiled = build_graph().compile(checkpointer=saver)
        gate = asyncio.Semaphore(concurrency)

        async def one(principle: Principle) -> int:
            async with gate:
                result = await run_principle(compiled, principle, ctx, durability=durability)
                # write_scenario, one e_step per round, one m_step between rounds, finish
                return 2 * len(result["history"]) + 1

        return sum(await asyncio.gather(*(one(p) for p in principles)))


async def bare_run(principles: list[Principle], ctx: Context, concurrency: int,
                   api_base: str, client_kind: str) -> None:
    """The same requests as the graph and nothing else, with the ``openai`` SDK (httpx) or
    with raw ``aiohttp`` (the transport litellm uses)."""
    import aiohttp
    import openai

    client = openai.AsyncOpenAI(base_url=api_base, api_key="none", max_retries=0)
    session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
    gate = asyncio.Semaphore(concurrency)

    pool = ModelPool(None, api_bases={SPEC: api_base})

    async def chat(text: str, **params: object) -> list[str]:
        messages = [{"role": "user", "content": text}]
        if client_kind == "pool":
            got = await pool.generate(SPEC, messages, **params)
            return [c.text for c in got]
        if client_kind == "openai":
            reply = await client.chat.completions.create(model="test", messages=messages,
                                                         **params)
            return [c.message.content or "" for c in reply.choices]
        async with session.post(f"{api_base}/chat/completions", json={
                "model": "test", "messages": messages, **params}) as response:
            body = await response.json()
        return [c["message"]["content"] or "" for c in body["choices"]]

    async def one(p: Principle) -> None:
        async with gate:
            from valuegraph.evals.theories import MORAL_FOUNDATIONS

            dim = MORAL_FOUNDATIONS.get(p.foundation)
            scenario = (await chat(
                prompts.render(prompts.SCENARIO_PROMPT, principle=p.text, foundation=dim.name,
                               foundation_definition=dim.definition),
                temperature=ctx.attacker_temperature, top_p=1.0,
                max_tokens=ctx.attacker_max_tokens, seed=call_seed(ctx, p.id, 0, "scenario"),
                n=1))[0]
            for round_ in range(ctx.rounds + 1):
                completions = await chat(
                    prompts.render(prompts.CONTINUE_PROMPT, scenario=scenario),
                    temperature=ctx.target_temperature, top_p=ctx.target_top_p,
                    max_tokens=ctx.target_max_tokens, n=ctx.samples,
                    seed=call_seed(ctx, p.id, round_, "sample"))
                await asyncio.gather(*(chat(
                    prompts.render(prompts.JUDGE_PROMPT, principle=p.text, scenario=scenario,
                                   continuation=c),
                    temperature=0.0, top_p=1.0, max_tokens=8, logprobs=True, top_logprobs=10,
                    n=1) for c in completions))
                if round_ < ctx.rounds:
                    scenario = (await chat(
                        prompts.render(prompts.REWRITE_PROMPT, principle=p.text,
                                       foundation=dim.name, scenario=scenario,
                                       continuations="\n".join(completions[: ctx.keep])),
                        temperature=ctx.attacker_temperature, top_p=1.0,
                        max_tokens=ctx.attacker_max_tokens, n=1,
                        seed=call_seed(ctx, p.id, round_ + 1, "rewrite")))[0]

    await asyncio.gather(*(one(p) for p in principles))
    await client.close()
    await session.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--principles", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--samples", type=int, default=8)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--durability", default="sync", choices=DURABILITIES,
                        help="checkpoint writes of the graph (the runner's default: sync)")
    parser.add_argument("--repeat", type=int, default=3,
                        help="passes per path, interleaved; the fastest counts (shared machines)")
    args = parser.parse_args()
    principles = select_principles(load_principles(), limit=args.principles)
    if len(principles) < args.principles:
        principles = [Principle(f"{p.id}-{i}", p.text, p.foundation)
                      for i in range(math.ceil(args.principles / len(principles)))
                      for p in principles][: args.principles]
    server = start_server(rules=[JUDGE_RULE])
    tmp = Path(tempfile.mkdtemp(prefix="denevil-bench-"))
    paths = ("graph", *BARE_CLIENTS, POOL_ONLY)
    best: dict[str, Timing] = {}
    try:
        pool = ModelPool(None, api_bases={SPEC: server.api_base})
        bind_pool("bench", pool)
        ctx = Context(attacker=SPEC, target=SPEC, judge=SPEC, api_bases={SPEC: server.api_base},
                      pool_key="bench", rounds=args.rounds, samples=args.samples,
                      judge_method="logprobs")
        # Warm up every client (imports, connections) outside the timed region.
        warm = [Principle(f"warm-{i}", p.text, p.foundation) for i, p in enumerate(principles[:4])]
        asyncio.run(graph_run(warm, ctx, args.concurrency, tmp / "warm"))
        for kind in (*BARE_CLIENTS, POOL_ONLY):
            asyncio.run(bare_run(warm, ctx, args.concurrency, server.api_base, kind))
        calls: dict[str, int] = {}
        for attempt in range(args.repeat):
            for path in paths:
                server.admin(reset=True)
                with timed() as timing:
                    if path == "graph":
                        steps = asyncio.run(graph_run(principles, ctx, args.concurrency,
                                                      tmp / f"graph{attempt}", args.durability))
                    else:
                        asyncio.run(bare_run(principles, ctx, args.concurrency,
                                             server.api_base, path))
                calls[path] = server.admin()["requests"]
                if path not in best or timing.wall < best[path].wall:
                    best[path] = timing
        if len(set(calls.values())) != 1:
            raise SystemExit(f"requests per path differ ({calls}): not the same calls")
        n_calls = calls["graph"]
    finally:
        server.stop()

    # A graph step without HTTP: scripted models, one principle at a time (wall time).
    register_mock("a", respond=lambda m, p, i: f"A scenario ({p.seed} {i}).")
    register_mock("t", respond=lambda m, p, i: f"A continuation {i}.")
    register_mock("j", respond=lambda m, p, i: "Yes")
    mock_ctx = Context(attacker="mock/a", target="mock/t", judge="mock/j", pool_key="bench-mock",
                       rounds=args.rounds, samples=args.samples, judge_method="vote",
                       judge_votes=1)
    bind_pool("bench-mock", ModelPool(None))
    with timed() as mock_t:
        mock_steps = asyncio.run(graph_run(principles, mock_ctx, 1, tmp / "mock"))

    cps = {path: n_calls / t.wall for path, t in best.items()}
    bare_kind = max(BARE_CLIENTS, key=lambda k: cps[k])  # the stricter baseline
    # The CPU the graph adds per step (nodes, state, checkpoint write) over the same requests
    # made through the pool without a graph.
    ms_per_step = (best["graph"].cpu - best[POOL_ONLY].cpu) / steps * 1000
    print(f"{len(principles)} principles, T={args.rounds}, K={args.samples}, concurrency "
          f"{args.concurrency}: {n_calls} requests per path, {steps} graph steps "
          f"(durability {args.durability}); best of {args.repeat} interleaved passes")
    labels = {"graph": "graph (pool, SQLite checkpoints)", POOL_ONLY: "pool only, no graph",
              **{k: f"bare asyncio ({k} client)" for k in BARE_CLIENTS}}
    for path in paths:
        print(f"{labels[path]:34s}: {best[path].wall:6.2f} s {cps[path]:7.1f} calls/s  "
              f"cpu {best[path].cpu / n_calls * 1000:.3f} ms/call")
    print(f"ratio graph/bare ({bare_kind}): {cps['graph'] / cps[bare_kind]:.3f}   "
          f"graph/pool-only: {cps['graph'] / cps[POOL_ONLY]:.3f}   "
          f"pool-only/bare: {cps[POOL_ONLY] / cps[bare_kind]:.3f}")
    print(f"graph CPU added per step over pool-only: {ms_per_step:.2f} ms; graph over scripted "
          f"in-process models, one principle at a time: {mock_t.wall / mock_steps * 1000:.2f} ms"
          f" per step (wall, model calls included)")
    print(result_line(ratio=cps["graph"] / cps[bare_kind], graph_cps=cps["graph"],
                      bare_cps=cps[bare_kind], ms_per_step=ms_per_step))


if __name__ == "__main__":
    main()
