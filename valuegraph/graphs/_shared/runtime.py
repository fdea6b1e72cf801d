"""How graph nodes reach run-time objects that cannot live in state or context.

Context must stay JSON-constructible (Studio builds it from an assistant's config), so it names
the pool by ``pool_key``; the CLI / Python runner binds its pool (with the run's completion cache)
under that key. An unbound key gets one shared pool without a cache (Studio, quick experiments).
"""

from __future__ import annotations

from valuegraph.tools.pool import ModelPool

_POOLS: dict[str, ModelPool] = {}


def bind_pool(key: str, pool: ModelPool) -> None:
    _POOLS[key] = pool


def unbind_pool(key: str) -> None:
    _POOLS.pop(key, None)


def pool_for(key: str = "") -> ModelPool:
    if key not in _POOLS:
        _POOLS[key] = ModelPool()
    return _POOLS[key]
