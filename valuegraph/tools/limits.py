"""Concurrency limits per backend: fixed for self-hosted servers, adaptive for rate-limited APIs."""

from __future__ import annotations

import asyncio
from collections import deque


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
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._loop: asyncio.AbstractEventLoop | None = None

    def _bind(self) -> asyncio.AbstractEventLoop:
        # Futures bind to one event loop: a pool built outside a loop, or reused by successive
        # asyncio.run calls, starts afresh in each loop.
        loop = asyncio.get_running_loop()
        if self._loop is not loop:
            self._loop, self.in_flight, self._waiters = loop, 0, deque()
        return loop

    async def acquire(self) -> None:
        """Take a slot, waiting in line (first come, first served) when none is free."""
        loop = self._bind()
        if self.in_flight < self.current and not self._waiters:
            self.in_flight += 1  # the fast path: no future, no lock
            return
        granted = loop.create_future()
        self._waiters.append(granted)
        try:
            await granted  # release() counts the slot for us before waking us
        except asyncio.CancelledError:
            if granted.done() and not granted.cancelled():
                self.release()  # handed a slot while being cancelled: pass it on
            elif granted in self._waiters:
                self._waiters.remove(granted)
            raise

    def release(self) -> None:
        self.in_flight -= 1
        self._grant()

    def _grant(self) -> None:
        while self._waiters and self.in_flight < self.current:
            waiter = self._waiters.popleft()
            if not waiter.done():
                self.in_flight += 1
                waiter.set_result(None)

    def slot(self) -> AdaptiveLimiter:
        """``async with limiter.slot():`` holds one slot for the duration of a call."""
        return self

    async def __aenter__(self) -> None:
        await self.acquire()

    async def __aexit__(self, *exc: object) -> None:
        self.release()

    def record_success(self) -> None:
        if not self.adaptive or self.current >= self.max_limit:
            return
        self._successes += 1
        if self._successes >= self.current:
            self._successes = 0
            self.current += 1
            self._grant()

    def record_rate_limited(self) -> None:
        if not self.adaptive:
            return
        self._successes = 0
        self.current = max(self.floor, self.current // 2)
