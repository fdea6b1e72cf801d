"""The pool over scripted models: caching per sample, accounting, running out loudly."""

from __future__ import annotations

import pytest

from valuegraph.tools.backends.mock_backend import register_mock
from valuegraph.tools.pool import ModelPool
from valuegraph.tools.specs import SpecError
from valuegraph.tools.types import NotSupportedError, ScriptExhaustedError

MSG = [{"role": "user", "content": "hello"}]


async def test_scripted_replies_in_order_with_usage_per_role():
    register_mock("a", ["one", "two three", "four"])
    pool = ModelPool()
    first = await pool.generate("mock/a", MSG, n=2, role="attacker")
    second = await pool.generate("mock/a", MSG, role="target")
    assert [c.text for c in first] == ["one", "two three"]
    assert [c.index for c in first] == [0, 1]
    assert second[0].text == "four"
    assert pool.usage.role("attacker").samples == 2
    assert pool.usage.role("attacker").completion_tokens == 3
    assert pool.usage.role("target").calls == 1


async def test_script_runs_out_loudly():
    register_mock("short", ["only"])
    pool = ModelPool()
    await pool.generate("mock/short", MSG)
    with pytest.raises(ScriptExhaustedError, match="ran out"):
        await pool.generate("mock/short", MSG)


async def test_cache_answers_repeat_and_extends_per_sample(tmp_path):
    script = register_mock("c", ["r0", "r1", "r2", "r3"])
    pool = ModelPool(tmp_path / "cache")
    got = await pool.generate("mock/c", MSG, n=2, temperature=0.5, seed=1)
    again = await pool.generate("mock/c", MSG, n=3, temperature=0.5, seed=1)
    assert [c.text for c in got] == ["r0", "r1"]
    # samples 0 and 1 from the cache, sample 2 is the only new call
    assert [c.text for c in again] == ["r0", "r1", "r2"]
    assert [c.cached for c in again] == [True, True, False]
    assert len(script.calls) == 3
    # a different sampling parameter is a different key
    other = await pool.generate("mock/c", MSG, n=1, temperature=0.9, seed=1)
    assert other[0].text == "r3"
    pool.close()
    # the cache persists across pools (a resumed run)
    reopened = ModelPool(tmp_path / "cache")
    replay = await reopened.generate("mock/c", MSG, n=3, temperature=0.5, seed=1)
    assert [c.text for c in replay] == ["r0", "r1", "r2"]
    assert reopened.usage.role("default").calls == 0
    assert reopened.usage.role("default").cache_hits == 3


async def test_loglik_scripted_and_cached(tmp_path):
    calls = []

    def scorer(prompt, cont):
        calls.append(cont)
        return -float(len(cont))

    register_mock("s", respond=lambda m, p, i: "x", loglik=scorer)
    pool = ModelPool(tmp_path / "cache")
    assert await pool.loglik("mock/s", "p", ["ab", "abcd"]) == [-2.0, -4.0]
    assert await pool.loglik("mock/s", "p", ["abcd", "z"]) == [-4.0, -1.0]
    assert calls == ["ab", "abcd", "z"]


async def test_loglik_not_supported_message():
    register_mock("nolog", ["x"])
    pool = ModelPool()
    assert not pool.supports_loglik("mock/nolog")
    with pytest.raises(NotSupportedError, match="not supported by the backend of mock/nolog"):
        await pool.loglik("mock/nolog", "p", ["a"])


def test_unknown_provider_and_bad_specs():
    pool = ModelPool()
    with pytest.raises(SpecError, match="unknown provider 'nosuch'"):
        pool.backend("nosuch/model")
    with pytest.raises(SpecError, match="no model part"):
        pool.backend("hf")
    with pytest.raises(SpecError, match="empty model spec"):
        pool.backend("  ")


async def test_n_must_be_positive():
    with pytest.raises(ValueError, match="n must be >= 1"):
        await ModelPool().generate("mock/a", MSG, n=0)


async def test_langchain_chat_model_routes_through_pool():
    from langchain_core.messages import HumanMessage, SystemMessage

    script = register_mock("lc", ["from the pool"])
    pool = ModelPool()
    model = pool.chat_model("mock/lc", role="optimizer", temperature=0.0)
    reply = await model.ainvoke([SystemMessage("be brief"), HumanMessage("hi")])
    assert reply.content == "from the pool"
    assert script.calls[0] == [{"role": "system", "content": "be brief"},
                               {"role": "user", "content": "hi"}]
    assert pool.usage.role("optimizer").calls == 1
