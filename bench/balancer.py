"""valuegraph's replica balancer against litellm's Router, on the same two servers.

Two local OpenAI-compatible servers serve one model; one answers in ``--fast`` seconds, the
other in ``--slow`` (a replica on a busier GPU, or a smaller one). ``--n`` requests at
``--concurrency`` in flight go through: the pool with both addresses as ``api_bases`` (least
outstanding requests, ``tools/balancer.py``); litellm's ``Router`` with the two deployments,
``routing_strategy="least-busy"`` and the default ``"simple-shuffle"``. Reported per path:
wall time, client CPU per call, and the share of requests the fast replica took.

    python bench/balancer.py [--n 600] [--concurrency 32] [--fast 0.01] [--slow 0.1]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import result_line, timed  # noqa: E402

from valuegraph.testing.process import start_server  # noqa: E402
from valuegraph.tools.pool import ModelPool  # noqa: E402


def message(i: int) -> list[dict[str, str]]:
    return [{"role": "user", "content": f"Request number {i}: say something."}]


async def run_all(call, n: int, concurrency: int) -> None:
    gate = asyncio.Semaphore(concurrency)

    async def one(i: int) -> None:
        async with gate:
            await call(i)

    await asyncio.gather(*(one(i) for i in range(n)))


async def through_pool(bases: list[str], n: int, concurrency: int) -> None:
    pool = ModelPool(None, api_bases={"openai/test": bases}, max_attempts=1)

    async def call(i: int) -> None:
        await pool.generate("openai/test", message(i), max_tokens=16)

    await run_all(call, n, concurrency)
    await pool.aclose()


def make_router(bases: list[str], strategy: str):
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import litellm
    from litellm import Router

    litellm.suppress_debug_info = True
    return Router(model_list=[{"model_name": "test", "litellm_params": {
        "model": "openai/test", "api_base": base, "api_key": "none"}} for base in bases],
        routing_strategy=strategy, num_retries=0)


async def through_router(router, n: int, concurrency: int) -> None:
    async def call(i: int) -> None:
        await router.acompletion(model="test", messages=message(i), max_tokens=16)

    await run_all(call, n, concurrency)


async def measure(name: str, work, warm, servers, delays, n: int) -> dict[str, float]:
    """Warm up and run one path in one event loop (clients bind to their loop)."""
    for server in servers:
        server.admin(delay=0, reset=True)
    await warm()
    for server, delay in zip(servers, delays, strict=True):
        server.admin(delay=delay, reset=True)
    with timed() as timing:
        await work()
    to_fast, to_slow = (server.admin()["requests"] for server in servers)
    share = to_fast / max(1, to_fast + to_slow)
    print(f"{name:16s} {timing.wall:6.2f}s  {n / timing.wall:6.0f} req/s  cpu "
          f"{timing.cpu / n * 1000:6.2f} ms/call  fast replica took {share:.0%} "
          f"({to_fast}/{to_fast + to_slow})", flush=True)
    return {f"{name}_s": timing.wall, f"{name}_cpu_ms": timing.cpu / n * 1000,
            f"{name}_fast_share": share}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=600)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--fast", type=float, default=0.01)
    parser.add_argument("--slow", type=float, default=0.1)
    args = parser.parse_args()
    logging.getLogger("LiteLLM Router").setLevel(logging.ERROR)
    logging.getLogger("LiteLLM").setLevel(logging.ERROR)
    servers = [start_server(), start_server()]
    bases = [s.api_base for s in servers]
    delays = (args.fast, args.slow)
    n, c = args.n, args.concurrency
    figures: dict[str, float] = {}
    try:
        figures.update(asyncio.run(measure(
            "valuegraph", lambda: through_pool(bases, n, c),
            lambda: through_pool(bases, 20, 4), servers, delays, n)))
        for strategy, name in (("least-busy", "router_least"),
                               ("simple-shuffle", "router_simple")):
            router = make_router(bases, strategy)
            figures.update(asyncio.run(measure(
                name, lambda r=router: through_router(r, n, c),
                lambda r=router: through_router(r, 20, 4), servers, delays, n)))
    finally:
        for server in servers:
            server.stop()
    best_router = min(figures["router_least_s"], figures["router_simple_s"])
    print(f"{n} requests, {c} in flight, replicas answering in {args.fast * 1000:.0f} and "
          f"{args.slow * 1000:.0f} ms")
    print(result_line(speedup_vs_router=best_router / figures["valuegraph_s"], **figures))


if __name__ == "__main__":
    main()
