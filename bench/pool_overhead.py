"""Pool overhead against a local OpenAI-compatible server that answers instantly.

N chat requests at concurrency C through the pool (cache off), and through a bare asyncio loop
with the ``openai`` client, in the same run; then the same requests through the pool with the
cache on, twice (the second pass should be all cache hits).

    python bench/pool_overhead.py [--n 2000] [--concurrency 64]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import result_line, timed  # noqa: E402

from valuegraph.testing.process import start_server  # noqa: E402
from valuegraph.tools.pool import ModelPool  # noqa: E402


def messages(i: int) -> list[dict[str, str]]:
    return [{"role": "user", "content": f"Request number {i}: say something."}]


async def bare_loop(api_base: str, n: int, concurrency: int) -> None:
    import openai

    client = openai.AsyncOpenAI(base_url=api_base, api_key="none", max_retries=0)
    gate = asyncio.Semaphore(concurrency)

    async def one(i: int) -> str:
        async with gate:
            reply = await client.chat.completions.create(
                model="test", messages=messages(i), temperature=0.7, max_tokens=64)
            return reply.choices[0].message.content or ""

    out = await asyncio.gather(*(one(i) for i in range(n)))
    assert len(out) == n and all(out)
    await client.close()


async def pool_loop(pool: ModelPool, n: int, concurrency: int) -> None:
    gate = asyncio.Semaphore(concurrency)

    async def one(i: int) -> str:
        async with gate:
            got = await pool.generate("openai/test", messages(i), temperature=0.7, max_tokens=64)
            return got[0].text

    out = await asyncio.gather(*(one(i) for i in range(n)))
    assert len(out) == n and all(out)
    await pool.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=64)
    args = parser.parse_args()
    n, c = args.n, args.concurrency
    server = start_server()
    try:
        api = {"openai/test": server.api_base}
        # Warm up both clients (imports, connection pools) outside the timed region.
        asyncio.run(bare_loop(server.api_base, 50, c))
        asyncio.run(pool_loop(ModelPool(None, api_bases=api), 50, c))

        with timed() as bare:
            asyncio.run(bare_loop(server.api_base, n, c))
        pool = ModelPool(None, api_bases=api)
        with timed() as pooled:
            asyncio.run(pool_loop(pool, n, c))
        assert pool.usage.role("default").calls == n

        # For transparency: the same requests with servers routed through litellm.
        via_litellm = ModelPool(None, api_bases=api, server_client="litellm")
        with timed() as litellm_timing:
            asyncio.run(pool_loop(via_litellm, n, c))

        with tempfile.TemporaryDirectory() as cache_dir:
            cached_pool = ModelPool(Path(cache_dir), api_bases=api)
            with timed() as fill:
                asyncio.run(pool_loop(cached_pool, n, c))
            cached_pool.cache.hits = 0
            requests_before = server.admin()["requests"]
            with timed() as repeat:
                asyncio.run(pool_loop(cached_pool, n, c))
            hit_rate = cached_pool.cache.hits / n
            extra_requests = server.admin()["requests"] - requests_before
            cached_pool.close()
    finally:
        server.stop()

    bare_rps, pool_rps = n / bare.wall, n / pooled.wall
    added_cpu_ms = (pooled.cpu - bare.cpu) / n * 1000
    print(f"requests: {n} at concurrency {c}, local instant server")
    print(f"bare openai client : {bare.wall:7.2f} s  {bare_rps:8.1f} req/s  "
          f"cpu {bare.cpu / n * 1000:.3f} ms/call")
    print(f"pool (cache off)   : {pooled.wall:7.2f} s  {pool_rps:8.1f} req/s  "
          f"cpu {pooled.cpu / n * 1000:.3f} ms/call")
    print(f"ratio pool/bare    : {pool_rps / bare_rps:.3f}   added cpu: {added_cpu_ms:.3f} ms/call")
    print(f"pool via litellm   : {litellm_timing.wall:7.2f} s  {n / litellm_timing.wall:8.1f} "
          f"req/s  cpu {litellm_timing.cpu / n * 1000:.3f} ms/call  (server_client='litellm')")
    print(f"pool (cache on), first pass : {fill.wall:7.2f} s")
    print(f"pool (cache on), repeat     : {repeat.wall:7.2f} s  hit rate {hit_rate:.3f}  "
          f"server requests during repeat: {extra_requests}")
    print(result_line(ratio=pool_rps / bare_rps, cache_hit_rate=hit_rate, pool_rps=pool_rps,
                      bare_rps=bare_rps, added_cpu_ms_per_call=added_cpu_ms,
                      pool_cpu_ms_per_call=pooled.cpu / n * 1000,
                      litellm_rps=n / litellm_timing.wall,
                      cache_repeat_s=repeat.wall))


if __name__ == "__main__":
    main()
