"""The adaptive limit on graphs in flight: grows while latency holds, backs off otherwise."""

from __future__ import annotations

import asyncio

import pytest

from valuegraph.tools.limits import AdaptiveLimiter, LatencyConcurrency


def controller(**kwargs) -> LatencyConcurrency:
    return LatencyConcurrency(AdaptiveLimiter(kwargs.pop("maximum", 256)), **kwargs)


def observe(adaptive: LatencyConcurrency, count: int, seconds: float, key="k") -> None:
    for _ in range(count):
        adaptive.observe(key, seconds)


def test_slow_start_doubles_per_window_up_to_the_ceiling():
    adaptive = controller(initial=4, maximum=20)
    assert adaptive.limit == 4
    observe(adaptive, 3, 0.1)
    assert adaptive.limit == 4  # a window is `limit` requests
    observe(adaptive, 1, 0.1)
    assert adaptive.limit == 8
    observe(adaptive, 8, 0.1)
    assert adaptive.limit == 16
    observe(adaptive, 100, 0.1)
    assert adaptive.limit == adaptive.peak == 20


def test_a_slow_window_ends_slow_start_then_one_more_per_window():
    adaptive = controller(initial=4)
    observe(adaptive, 12, 0.1)
    assert adaptive.limit == 16
    observe(adaptive, 16, 0.3)  # a whole window at three times the best latency
    assert (adaptive.limit, adaptive.threshold) == (16, 16)  # out of slow start, not shrunk
    observe(adaptive, 15, 0.1)
    assert adaptive.limit == 16
    observe(adaptive, 1, 0.1)
    assert adaptive.limit == 17


def test_a_few_slow_requests_in_a_window_do_not_count():
    adaptive = controller(initial=4)
    observe(adaptive, 12, 0.1)
    observe(adaptive, 4, 0.3)  # a quarter of the window of 16
    observe(adaptive, 12, 0.1)
    assert adaptive.limit == 28  # 16 + the 12 holding requests of the window


def test_latency_rising_after_slow_start_shrinks_but_never_below_initial():
    adaptive = controller(initial=4)
    observe(adaptive, 28, 0.1)
    assert adaptive.limit == 32
    observe(adaptive, 32, 0.5)  # ends slow start
    observe(adaptive, 32, 0.5)
    assert adaptive.limit == 24
    observe(adaptive, 500, 5.0)
    assert adaptive.limit == 4 and adaptive.peak == 32


def test_kinds_have_their_own_best_latency():
    adaptive = controller(initial=4)
    for _ in range(6):
        adaptive.observe(("judge", 1), 0.01)  # short replies
        adaptive.observe(("target", 256), 0.5)  # long replies: slow, but not slower
    assert adaptive.limit == 16
    same_key = controller(initial=4)
    for _ in range(6):
        same_key.observe("one", 0.01)
        same_key.observe("one", 0.5)
    assert same_key.limit == 4 and same_key.threshold == 4


def test_near_instant_backends_count_as_holding_within_the_slack():
    adaptive = controller(initial=4)
    for seconds in (0.0001, 0.002, 0.0005, 0.003):
        adaptive.observe("mock", seconds)
    assert adaptive.limit == 8


def test_rate_limit_halves_once_per_window_down_to_one():
    adaptive = controller(initial=4)
    observe(adaptive, 28, 0.1)
    adaptive.rate_limited()
    adaptive.rate_limited()  # same window: no second halving
    assert adaptive.limit == 16 and adaptive.threshold == 16 and adaptive.rate_limits == 2
    for expected in (8, 4, 2, 1):
        observe(adaptive, adaptive.limit, 0.1)  # a good window: one more
        adaptive.rate_limited()
        assert adaptive.limit == expected


def test_ceiling_caps_growth():
    room = {"left": 6}
    adaptive = controller(initial=4, ceiling=lambda: room["left"])
    observe(adaptive, 4, 0.1)
    assert adaptive.limit == 6
    room["left"] = 100
    observe(adaptive, 6, 0.1)
    assert adaptive.limit == 12


async def test_resize_lets_waiters_in_and_shrinking_keeps_holders():
    limiter = AdaptiveLimiter(8)
    limiter.resize(1)
    entered = []

    async def worker(i: int) -> None:
        async with limiter.slot():
            entered.append(i)
            await asyncio.sleep(0.05)

    tasks = [asyncio.create_task(worker(i)) for i in range(4)]
    await asyncio.sleep(0.01)
    assert entered == [0]
    limiter.resize(4)
    await asyncio.sleep(0.01)
    assert entered == [0, 1, 2, 3] and limiter.in_flight == 4
    limiter.resize(2)  # the four keep their slots; new ones wait for two to leave
    assert limiter.in_flight == 4
    await asyncio.gather(*tasks)
    assert limiter.in_flight == 0


@pytest.mark.parametrize("value,expected", [(None, None), ("auto", None), (" AUTO ", None),
                                            (8, 8)])
def test_run_config_concurrency_auto_or_fixed(value, expected):
    from valuegraph.config import resolve_config

    assert resolve_config({"concurrency": value}, None, {}).concurrency == expected


def test_run_config_rejects_bad_concurrency():
    from valuegraph.config import ConfigError, resolve_config

    with pytest.raises(ConfigError, match="concurrency must be >= 1 or 'auto', got 0"):
        resolve_config({"concurrency": 0}, None, {})


async def test_the_pool_reports_latency_and_rate_limits_to_its_observers(server):
    from valuegraph.tools.pool import ModelPool

    pool = ModelPool(None, api_bases={"openai/test": server.api_base}, retry_wait=0.01)
    adaptive = controller(initial=8)
    pool.observers.append(adaptive)
    server.admin(faults=["429", "429"])
    await pool.generate("openai/test", [{"role": "user", "content": "hi"}], max_tokens=5)
    assert adaptive.rate_limits == 2 and adaptive.limit == 4  # halved once in the window
    for i in range(4):
        await pool.generate("openai/test", [{"role": "user", "content": f"q{i}"}],
                            max_tokens=5)
    await pool.aclose()
    assert list(adaptive._best) == [("openai/test", "default", 5, 1)]
    assert adaptive.limit == 5  # the next window (4 requests) held: one more
