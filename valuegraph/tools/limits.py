"""Concurrency limits: per backend (fixed for self-hosted servers, adaptive for rate-limited
APIs) and for whole graphs in flight (:class:`LatencyConcurrency`, driven by request latency)."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Hashable


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

    def resize(self, limit: int) -> None:
        """Set the number of slots (1..max_limit); waiters are let in at once when it grows,
        holders keep their slots when it shrinks."""
        self.current = max(1, min(self.max_limit, limit))
        self._grant()


class LatencyConcurrency:
    """Moves a limiter's size with the latency of the requests the limited work sends.

    For graphs in flight (each sends its requests one after another): more graphs help only
    while the servers answer as fast as before. Like TCP congestion control on a delay signal
    (TCP Vegas; Netflix's adaptive concurrency limits), each request's latency is compared
    with the best seen for its kind (``key``: spec, role, reply length), which drifts up slowly
    so that a server that really became slower is learnt. A request *holds* when it took at
    most ``tolerance`` x the best + ``slack`` seconds (the slack covers near-instant backends).

    Decisions are taken per window: the next ``limit`` requests (about one round trip of every
    graph in flight). The limit starts at ``initial``. In slow start a window adds one per
    holding request (the limit doubles per round trip); after it, one per window. A window
    with more than a quarter of slow requests ends slow start, or after it shrinks the limit
    to three quarters, never below ``initial`` (the old fixed default, so nothing runs with
    fewer graphs than it did). A rate-limit reply (429) halves the limit at once, down to 1,
    ends slow start and opens a new window.

    Args:
        limiter: The limiter to resize; its ``max_limit`` is the ceiling.
        initial: The size to start from (and the floor of latency back-off).
        tolerance: Latency ratio to the best that still counts as holding.
        slack: Seconds above ``tolerance`` x best that still count as holding.
        ceiling: Called before growing: the most the limit may reach now (e.g. what a budget
            leaves room for).
    """

    DRIFT = 1.002  # the best latency of a kind rises 0.2% per request unless beaten
    SLOW_SHARE = 0.25

    def __init__(self, limiter: AdaptiveLimiter, *, initial: int = 4, tolerance: float = 2.0,
                 slack: float = 0.005, ceiling: Callable[[], int] | None = None):
        self.limiter = limiter
        self.initial = max(1, min(initial, limiter.max_limit))
        self.tolerance = tolerance
        self.slack = slack
        self.ceiling = ceiling
        self.threshold = limiter.max_limit  # below it: slow start
        self.peak = self.initial
        self.rate_limits = 0
        self._best: dict[Hashable, float] = {}
        self._seen = self._slow = 0
        self._halved = False
        limiter.resize(self.initial)

    @property
    def limit(self) -> int:
        return self.limiter.current

    def observe(self, key: Hashable, seconds: float) -> None:
        """One request of kind ``key`` took ``seconds`` (waiting for a backend slot included)."""
        best = self._best.get(key)
        best = seconds if best is None else min(seconds, best * self.DRIFT)
        self._best[key] = best
        holding = seconds <= best * self.tolerance + self.slack
        self._seen += 1
        self._slow += not holding
        limit = self.limiter.current
        if self._seen < limit:
            return
        seen, slow = self._seen, self._slow
        self._seen = self._slow = 0
        self._halved = False
        if slow > self.SLOW_SHARE * seen:
            if limit < self.threshold:
                self.threshold = limit  # slow start ends here
            elif limit > self.initial:
                self.threshold = max(self.initial, limit * 3 // 4)
                self._set(self.threshold)
        elif limit < self.threshold:
            self._set(min(self.threshold, limit + seen - slow))
        else:
            self._set(limit + 1)

    def rate_limited(self) -> None:
        """A request got a rate-limit reply (429): halve, once per window."""
        self.rate_limits += 1
        if not self._halved:
            self._halved = True
            self._seen = self._slow = 0
            self.threshold = max(1, self.limiter.current // 2)
            self._set(self.threshold)

    def clamp(self) -> None:
        """Shrink to the ceiling when it fell below the limit (a budget running out); graphs
        in flight keep their slots."""
        if self.ceiling is not None:
            room = max(1, self.ceiling())
            if room < self.limiter.current:
                self.limiter.resize(room)

    def _set(self, limit: int) -> None:
        if limit > self.limiter.current and self.ceiling is not None:
            limit = min(limit, max(self.limiter.current, self.ceiling()))
        if limit != self.limiter.current:
            self.limiter.resize(limit)
            self.peak = max(self.peak, self.limiter.current)
