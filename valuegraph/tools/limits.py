"""Concurrency limits per backend: fixed for self-hosted servers, adaptive for rate-limited APIs."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class AdaptiveLimiter:
    """An asyncio concurrency limit that can move at run time.

    With ``adaptive=False`` it is a plain semaphore of ``limit`` slots. With ``adaptive=True`` it
    behaves like TCP congestion control (additive increase, multiplicative decrease): it starts at
    ``initial`` slots, adds one slot after every ``limit`` successes in a row (up to ``limit``),
    and halves on a rate-limit reply (down to ``floor``). This keeps a rate-limited API busy
    without a storm of 429s.
    """

    def __init__(self, limit: int, *, adaptive: bool = False, initial: int = 8, floor: int = 1):
        if limit < 1:
            raise ValueError(f"concurrency limit must be >= 1, got {limit}")
        self.max_limit = limit
        self.adaptive = adaptive
        self.floor = max(1, min(floor, limit))
        self.current = min(initial, limit) if adaptive else limit
        self.in_flight = 0
        self._successes = 0
        self._cond: asyncio.Condition | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def _condition(self) -> asyncio.Condition:
        # asyncio primitives bind to one event loop: make one per loop, so a pool built outside
        # a loop, or reused by successive asyncio.run calls, keeps working.
        loop = asyncio.get_running_loop()
        if self._cond is None or self._loop is not loop:
            self._cond, self._loop, self.in_flight = asyncio.Condition(), loop, 0
        return self._cond

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Hold one slot for the duration of a call."""
        cond = self._condition()
        async with cond:
            await cond.wait_for(lambda: self.in_flight < self.current)
            self.in_flight += 1
        try:
            yield
        finally:
            async with cond:
                self.in_flight -= 1
                cond.notify()

    def record_success(self) -> None:
        if not self.adaptive or self.current >= self.max_limit:
            return
        self._successes += 1
        if self._successes >= self.current:
            self._successes = 0
            self.current += 1

    def record_rate_limited(self) -> None:
        if not self.adaptive:
            return
        self._successes = 0
        self.current = max(self.floor, self.current // 2)
