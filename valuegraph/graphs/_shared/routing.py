"""Routers that run on the event loop.

In an async graph LangGraph runs a plain-function router in a worker thread (``run_in_executor``):
a thread hop and a loop wake-up on every call, about 3% of DeNEVIL's CPU against an instant
server (a py-spy profile of ``bench/denevil_throughput.py``). Routers are pure and
quick, so :func:`on_loop` gives LangGraph a coroutine twin that calls them inline; the plain
function stays importable and testable as it is.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any


def on_loop(router: Callable[..., Any]) -> Callable[..., Any]:
    """A coroutine function with the router's name, signature and return annotation (LangGraph
    reads the ``Literal`` return type for the edge map and the ``runtime`` parameter)."""

    @functools.wraps(router)
    async def inline(*args: Any, **kwargs: Any) -> Any:
        return router(*args, **kwargs)

    return inline
