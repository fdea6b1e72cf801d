"""OpenAI-compatible servers against a real HTTP server on loopback, through both clients the
pool can use for them: litellm, and valuegraph's lean HTTP client (server_client="direct", the
default fast path)."""

from __future__ import annotations

import pytest

from valuegraph.tools.pool import ModelPool
from valuegraph.tools.types import BackendError

MSG = [{"role": "user", "content": "Say something"}]


@pytest.fixture(params=["litellm", "direct"])
def client(request) -> str:
    return request.param


@pytest.fixture
def make_pool(client):
    def make(server, tmp_path=None, **kwargs) -> ModelPool:
        return ModelPool(tmp_path / "cache" if tmp_path else None, retry_wait=0.01,
                         api_bases={"openai/test": server.api_base}, timeout=2.0,
                         server_client=client, **kwargs)

    return make


def test_backend_kind_follows_server_client(server, make_pool, client):
    backend = make_pool(server).backend("openai/test")
    expected = "OpenAIServerBackend" if client == "direct" else "LiteLLMBackend"
    assert type(backend).__name__ == expected


async def test_answers_with_content_usage_and_n(make_pool, server):
    server.admin(rules=[{"match": "Say", "replies": ["alpha beta", "gamma"]}])
    pool = make_pool(server)
    got = await pool.generate("openai/test", MSG, n=2, role="target")
    assert [c.text for c in got] == ["alpha beta", "gamma"]
    assert server.admin()["requests"] == 1
    usage = pool.usage.role("target")
    assert (usage.calls, usage.prompt_tokens, usage.completion_tokens) == (1, 2, 3)


async def test_cache_hit_makes_no_request(make_pool, server, tmp_path):
    pool = make_pool(server, tmp_path)
    first = await pool.generate("openai/test", MSG, n=3, seed=7)
    second = await pool.generate("openai/test", MSG, n=3, seed=7)
    assert [c.text for c in first] == [c.text for c in second]
    assert all(c.cached for c in second)
    assert server.admin()["requests"] == 1


@pytest.mark.parametrize("fault", ["429", "500", "503", "malformed", "timeout"])
async def test_retries_then_succeeds(make_pool, server, fault):
    server.admin(faults=[fault, fault])
    pool = make_pool(server)
    got = await pool.generate("openai/test", MSG)
    assert got[0].text.startswith("reply-")
    stats = server.admin()
    assert stats["requests"] == 3  # two faults, then the answer: nothing retried underneath us
    assert stats["by_outcome"][fault] == 2
    assert pool.usage.role("default").retries == 2


async def test_gives_up_after_max_attempts(make_pool, server):
    server.admin(faults=["500"] * 5)
    pool = make_pool(server, max_attempts=3)
    with pytest.raises(BackendError) as info:
        await pool.generate("openai/test", MSG)
    assert info.value.retryable
    assert server.admin()["requests"] == 3
    assert pool.usage.role("default").errors == 1


async def test_client_error_is_not_retried(make_pool, server):
    server.admin(faults=["400"])
    pool = make_pool(server)
    with pytest.raises(BackendError) as info:
        await pool.generate("openai/test", MSG)
    assert not info.value.retryable
    assert server.admin()["requests"] == 1


async def test_rate_limit_halves_adaptive_concurrency(make_pool, server):
    from valuegraph.tools.limits import AdaptiveLimiter

    pool = make_pool(server)
    backend = pool.backend("openai/test")
    backend.limiter = AdaptiveLimiter(64, adaptive=True, initial=8)
    server.admin(faults=["429"])
    await pool.generate("openai/test", MSG)
    assert backend.limiter.current == 4


async def test_logprobs_reach_the_completion(make_pool, server):
    server.admin(rules=[{"match": "Judge", "reply": "Yes it does",
                         "logprobs": {"Yes": -0.2, "No": -1.8}}])
    pool = make_pool(server)
    got = await pool.generate("openai/test", [{"role": "user", "content": "Judge this"}],
                              logprobs=True, top_logprobs=2)
    first = got[0].logprobs[0]
    assert first.token == "Yes"
    assert first.top == {"Yes": -0.2, "No": -1.8}


async def test_slow_reply_times_out_and_retries(make_pool, server):
    server.admin(delay=3.0)
    pool = make_pool(server, max_attempts=2)
    with pytest.raises(BackendError, match="(?i)timeout|timed out"):
        await pool.generate("openai/test", MSG)
    assert server.admin()["requests"] == 2
