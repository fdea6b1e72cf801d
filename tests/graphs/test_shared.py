"""The loop kit: exit rule, request metering, resources, seeds, registry."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from valuegraph.graphs import GRAPHS, langgraph_config, langgraph_json, load_runner
from valuegraph.graphs._shared.budget import LoopLimits, exit_reason
from valuegraph.graphs._shared.context import LoopContext
from valuegraph.graphs._shared.resources import Resources, default_resources
from valuegraph.tools.backends.mock_backend import register_mock
from valuegraph.tools.pool import ModelPool
from valuegraph.tools.usage import metered

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("rounds,requests,history,expected", [
    (0, 0, [], None),
    (3, 0, [0.1, 0.2, 0.3], "rounds"),
    (1, 40, [0.1], "budget"),
    (2, 10, [0.5, 0.4], "no_improvement"),       # patience 1: round 2 did not beat 0.5
    (2, 10, [0.5, 0.6], None),
    (2, 10, [0.5, 0.5], "no_improvement"),       # equal is not better
])
def test_exit_reason(rounds, requests, history, expected):
    limits = LoopLimits(max_rounds=3, max_requests=40, patience=1)
    assert exit_reason(limits, rounds, requests, history) == expected


def test_rounds_checked_before_budget_and_min_improvement():
    assert exit_reason(LoopLimits(2, max_requests=5), 2, 9, []) == "rounds"
    limits = LoopLimits(9, patience=2, min_improvement=0.1)
    assert exit_reason(limits, 3, 0, [0.5, 0.55, 0.58]) == "no_improvement"
    assert exit_reason(limits, 3, 0, [0.5, 0.55, 0.61]) is None


async def test_meters_count_requests_sent_and_cache_hits_apart(tmp_path):
    register_mock("m", respond=lambda messages, params, index: f"reply {index}")
    pool = ModelPool(tmp_path / "cache")
    messages = [{"role": "user", "content": "hi"}]
    with metered() as outer:
        with metered() as inner:
            await pool.generate("mock/m", messages, n=3, seed=1)  # one request, 3 samples
        await asyncio.gather(*(pool.generate("mock/m", messages, n=1, seed=s)
                               for s in (2, 3)))                  # tasks share the meter
    assert (inner.requests, inner.cache_hits) == (1, 0)
    assert (outer.requests, outer.cache_hits) == (3, 0)
    with metered() as again:
        await pool.generate("mock/m", messages, n=4, seed=1)     # 3 cached, 1 new
    assert (again.requests, again.cache_hits) == (1, 3)
    assert pool.usage.total_calls == 4 and pool.usage.total_cache_hits == 3
    pool.close()


def test_resources_memo_and_the_default_for_unbound_contexts():
    res = Resources(ModelPool())
    made = []
    first = res.memo("k", lambda: made.append(1) or object())
    assert res.memo("k", lambda: made.append(2) or object()) is first and made == [1]
    assert LoopContext(resources=res).pool is res.pool
    assert LoopContext().pool is default_resources().pool is LoopContext().pool


def test_context_applies_the_request_policy_to_its_pool():
    res = Resources(ModelPool())
    pool = LoopContext(resources=res, request_timeout=7.5, retry_wait=0.01,
                       max_attempts=2).pool
    assert (pool.timeout, pool.retry_wait, pool.max_attempts) == (7.5, 0.01, 2)


def test_langgraph_json_is_generated_from_the_registry():
    on_disk = json.loads((REPO / "langgraph.json").read_text())
    assert on_disk == langgraph_config(), "regenerate: python -m valuegraph.graphs > langgraph.json"
    assert (REPO / "langgraph.json").read_text() == langgraph_json()
    for entry in GRAPHS:
        module_path, _, attribute = on_disk["graphs"][entry.name].partition(":")
        assert (REPO / module_path).is_file() and attribute == "graph"
        runner = load_runner(entry.name)
        assert runner.name == entry.name and runner.description
