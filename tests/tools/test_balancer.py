"""Requests of one spec spread over replicas: least outstanding, fail-over, health."""

from __future__ import annotations

import asyncio
import time

import pytest

from valuegraph.config import resolve_config
from valuegraph.testing.process import start_server
from valuegraph.tools.balancer import Balancer
from valuegraph.tools.pool import ModelPool
from valuegraph.tools.specs import SpecError, join_bases, parse_spec, split_bases

MSG = [{"role": "user", "content": "Say something"}]


@pytest.fixture
def two_servers():
    servers = [start_server(timeout_sleep=3.0), start_server(timeout_sleep=3.0)]
    yield servers
    for server in servers:
        server.stop()


def test_picks_the_replica_with_fewest_outstanding_in_turn_on_ties():
    balancer = Balancer(["a", "b", "c"])
    first = balancer.pick()
    first.outstanding = 2
    second = balancer.pick()
    second.outstanding = 1
    third = balancer.pick()
    assert {first.base, second.base, third.base} == {"a", "b", "c"}
    third.outstanding = 1
    assert balancer.pick() in (second, third)
    assert balancer.pick(exclude={second.base, third.base}) is first


def test_a_failed_replica_cools_down_doubling_and_one_success_clears_it():
    balancer = Balancer(["a", "b"], cooldown=0.05)
    a, b = balancer.replicas
    balancer.failed(a)
    assert [balancer.pick().base for _ in range(4)] == ["b"] * 4
    time.sleep(0.06)
    assert {balancer.pick().base for _ in range(4)} == {"a", "b"}
    balancer.failed(a)  # the second failure in a row (no success between): 0.1 s
    assert 0.05 < a.down_until - time.monotonic() <= 0.1
    balancer.failed(a)
    assert 0.1 < a.down_until - time.monotonic() <= 0.2
    balancer.failed(b)
    assert balancer.pick() is None and balancer.next_available_in() > 0
    balancer.succeeded(a)
    assert (a.failures, balancer.pick().base) == (0, "a")


def test_owner_health_hides_a_restarting_replica():
    ready = {"a": False, "b": True}
    balancer = Balancer(["a", "b"], health=lambda base: lambda: ready[base])
    assert {balancer.pick().base for _ in range(4)} == {"b"}
    ready["a"] = True
    assert {balancer.pick().base for _ in range(4)} == {"a", "b"}


def test_replica_lists_join_into_one_spec_address():
    assert split_bases(" http://a/v1, http://b/v1 ,") == ["http://a/v1", "http://b/v1"]
    assert join_bases(["http://a/v1", "http://b/v1"]) == "http://a/v1,http://b/v1"
    spec = parse_spec("openai/m", "http://a/v1,http://b/v1")
    assert spec.api_bases == ["http://a/v1", "http://b/v1"]
    assert spec.cache_base == "http://a/v1"  # adding a replica keeps the cache keys
    cfg = resolve_config({"api_bases": {"openai/m": ["http://a/v1", "http://b/v1"]}}, None, {})
    assert cfg.api_bases == {"openai/m": "http://a/v1,http://b/v1"}


async def test_requests_spread_evenly_and_outstanding_returns_to_zero(two_servers):
    bases = [s.api_base for s in two_servers]
    pool = ModelPool(None, api_bases={"openai/test": bases}, retry_wait=0.01)
    backend = pool.backend("openai/test")
    assert type(backend).__name__ == "BalancedServerBackend"
    assert backend.limiter.max_limit == 512
    for server in two_servers:
        server.admin(delay=0.05)
    got = await asyncio.gather(*(pool.generate("openai/test", [
        {"role": "user", "content": f"item {i}"}]) for i in range(40)))
    await pool.aclose()
    assert len(got) == 40 and all(g[0].text.startswith("reply-") for g in got)
    counts = [s.admin()["requests"] for s in two_servers]
    assert sum(counts) == 40 and min(counts) >= 15, counts
    assert [r.outstanding for r in backend.balancer.replicas] == [0, 0]
    assert sorted(r.served for r in backend.balancer.replicas) == sorted(counts)


async def test_least_outstanding_sends_more_to_the_faster_replica(two_servers):
    fast, slow = two_servers
    fast.admin(delay=0.01)
    slow.admin(delay=0.2)
    pool = ModelPool(None, api_bases={"openai/test": [fast.api_base, slow.api_base]})
    gate = asyncio.Semaphore(8)

    async def one(i: int) -> None:
        async with gate:
            await pool.generate("openai/test", [{"role": "user", "content": f"item {i}"}])

    await asyncio.gather(*(one(i) for i in range(80)))
    await pool.aclose()
    to_fast, to_slow = fast.admin()["requests"], slow.admin()["requests"]
    assert to_fast + to_slow == 80
    assert to_fast >= 3 * to_slow, (to_fast, to_slow)


async def test_a_killed_replica_loses_no_request(two_servers, tmp_path):
    alive, doomed = two_servers
    for server in two_servers:
        server.admin(delay=0.1)
    pool = ModelPool(tmp_path / "cache", api_bases={"openai/test": [alive.api_base,
                                                                     doomed.api_base]})
    tasks = [asyncio.create_task(pool.generate("openai/test", [
        {"role": "user", "content": f"item {i}"}], seed=i)) for i in range(30)]
    await asyncio.sleep(0.05)  # requests in flight on both
    doomed.process.kill()
    doomed.process.wait()
    got = await asyncio.gather(*tasks)
    more = await pool.generate("openai/test", MSG)  # after the kill: the survivor alone
    await pool.aclose()
    assert len(got) == 30 and all(g[0].text.startswith("reply-") for g in got)
    assert more[0].text.startswith("reply-")
    usage = pool.usage.role("default")
    assert (usage.errors, usage.retries) == (0, 0)  # failed over inside the backend
    backend = pool.backend("openai/test")
    dead = next(r for r in backend.balancer.replicas if r.base == doomed.api_base)
    assert dead.failures >= 1 and dead.down_until > 0
    assert alive.admin()["requests"] >= 16


async def test_every_replica_down_is_a_retryable_error_then_the_pool_retries(two_servers):
    bases = [s.api_base for s in two_servers]
    for server in two_servers:
        server.stop()
    pool = ModelPool(None, api_bases={"openai/test": bases}, max_attempts=2, retry_wait=0.01)
    from valuegraph.tools.types import BackendError

    with pytest.raises(BackendError, match="every replica failed"):
        await pool.generate("openai/test", MSG)
    assert pool.usage.role("default").retries == 1
    await pool.aclose()


def test_replicas_need_the_direct_client():
    pool = ModelPool(None, api_bases={"openai/test": "http://a/v1,http://b/v1"},
                     server_client="litellm")
    with pytest.raises(SpecError, match="several api_bases need server_client='direct'"):
        pool.backend("openai/test")


def test_server_client_openai_is_the_deprecated_name_of_direct():
    with pytest.warns(DeprecationWarning, match="it is called 'direct' now"):
        pool = ModelPool(None, server_client="openai")
    assert pool.server_client == "direct"
    with pytest.raises(ValueError, match="server_client must be 'direct' or 'litellm'"):
        ModelPool(None, server_client="httpx")
