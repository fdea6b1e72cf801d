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


def test_waiters_are_served_in_arrival_order_and_cancelled_waiters_free_nothing():
    limiter = AdaptiveLimiter(1)
    order: list[int] = []

    async def user(i: int, hold: asyncio.Event) -> None:
        async with limiter.slot():
            order.append(i)
            await hold.wait()

    async def scenario() -> tuple[list[int], int]:
        hold = asyncio.Event()
        first = asyncio.create_task(user(0, hold))
        await asyncio.sleep(0)
        waiting = [asyncio.create_task(user(i, hold)) for i in (1, 2, 3)]
        await asyncio.sleep(0)
        waiting[0].cancel()  # gives up while in line: must not take or leak a slot
        await asyncio.sleep(0)
        assert limiter.in_flight == 1
        hold.set()
        await asyncio.gather(first, *waiting[1:])
        return order, limiter.in_flight

    assert asyncio.run(scenario()) == ([0, 2, 3], 0)


def test_a_raised_limit_wakes_waiters_at_once():
    limiter = AdaptiveLimiter(4, adaptive=True, initial=1)

    async def scenario() -> int:
        await limiter.acquire()
        waiter = asyncio.create_task(limiter.acquire())
        await asyncio.sleep(0)
        assert not waiter.done()
        limiter.record_success()  # one success at current=1 raises the limit to 2
        await asyncio.wait_for(waiter, 1)
        return limiter.in_flight

    assert asyncio.run(scenario()) == 2
