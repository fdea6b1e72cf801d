"""Run-time objects of a run that cannot live in state or context: the model pool (with the
run's completion cache), stores opened once, backends warmed up off the event loop.

The runner makes one :class:`Resources` per run and hands it to every graph in the context
(``context.resources``); nodes reach it as ``runtime.context.res``. Without a runner (Studio,
``langgraph dev``, a quick ``ainvoke``) contexts share :func:`default_resources`: a pool without
a cache, created on first use.
"""

from __future__ import annotations

import asyncio
import functools
import threading
from collections.abc import Callable, Hashable, Iterable
from pathlib import Path
from typing import Any, TypeVar

from valuegraph.tools.pool import ModelPool

T = TypeVar("T")


class Resources:
    """The pool and the per-run objects built from it.

    Args:
        pool: The model pool every role of the run uses.
        run_dir: The run directory (None: no run directory, e.g. Studio).
    """

    def __init__(self, pool: ModelPool | None = None, run_dir: str | Path | None = None):
        self.pool = pool if pool is not None else ModelPool()
        self.run_dir = Path(run_dir) if run_dir is not None else None
        self._objects: dict[Hashable, Any] = {}
        self._lock = threading.RLock()
        self._ready: set[tuple[str, str | None]] = set()

    def memo(self, key: Hashable, factory: Callable[[], T]) -> T:
        """The object stored under ``key``, made by ``factory`` the first time (thread-safe)."""
        with self._lock:
            if key not in self._objects:
                self._objects[key] = factory()
            return self._objects[key]

    def close(self) -> None:
        """Close every memoised object that can be closed (stores), then forget them."""
        with self._lock:
            objects, self._objects = self._objects, {}
        for value in objects.values():
            closer = getattr(value, "close", None)
            if callable(closer):
                closer()

    async def warm_up(self, specs: Iterable[tuple[str, str | None]]) -> None:
        """Create the backends of ``(spec, api_base)`` pairs off the event loop, once each.

        A provider's first use imports its package (litellm: seconds of file I/O), which an
        ASGI server such as ``langgraph dev`` rejects as a blocking call inside the loop.
        """
        wanted = {pair for pair in specs if not pair[0].startswith("classifier/")} - self._ready
        if not wanted:
            return
        pool = self.pool
        await asyncio.to_thread(lambda: [pool.backend(spec, base) for spec, base in wanted])
        self._ready.update(wanted)


@functools.cache
def default_resources() -> Resources:
    """The resources of contexts that no runner bound (one per process)."""
    return Resources()
