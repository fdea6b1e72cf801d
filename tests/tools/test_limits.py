"""Concurrency limits: fixed slots, AIMD adaptation, reuse across event loops."""

from __future__ import annotations

import asyncio

import pytest

from valuegraph.tools.limits import AdaptiveLimiter


async def test_fixed_limit_caps_in_flight():
    limiter = AdaptiveLimiter(3)
    peak = 0

    async def work():
        nonlocal peak
        async with limiter.slot():
            peak = max(peak, limiter.in_flight)
            await asyncio.sleep(0.01)

    await asyncio.gather(*(work() for _ in range(12)))
    assert peak == 3 and limiter.in_flight == 0


def test_aimd_grows_by_one_per_window_and_halves_on_429():
    limiter = AdaptiveLimiter(10, adaptive=True, initial=4)
    for _ in range(4):
        limiter.record_success()
    assert limiter.current == 5
    for _ in range(5):
        limiter.record_success()
    assert limiter.current == 6
    limiter.record_rate_limited()
    assert limiter.current == 3
    limiter.record_rate_limited()
    limiter.record_rate_limited()
    assert limiter.current == 1  # the floor
    fixed = AdaptiveLimiter(10)
    fixed.record_rate_limited()
    assert fixed.current == 10


def test_usable_from_successive_event_loops():
    limiter = AdaptiveLimiter(2)

    async def once():
        async with limiter.slot():
            return limiter.in_flight

    assert asyncio.run(once()) == 1
    assert asyncio.run(once()) == 1


def test_rejects_zero_limit():
    with pytest.raises(ValueError, match="must be >= 1"):
        AdaptiveLimiter(0)
