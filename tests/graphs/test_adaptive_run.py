"""The default concurrency of a per-item run is adaptive; an explicit one is a fixed limit."""

from __future__ import annotations

import pytest

from tests.eval_loop import RUNNER
from valuegraph.config import resolve_config
from valuegraph.graphs._shared.runner import execute_run
from valuegraph.testing.process import start_server
from valuegraph.tools.rundir import RunDir

JUDGE_RULE = {"match": "Answer Yes or No", "reply": "Yes", "logprobs": {"Yes": -0.1}}


@pytest.fixture
def slow_server():
    server = start_server(rules=[JUDGE_RULE])
    server.admin(delay=0.05)
    yield server
    server.stop()


def run(tmp_path, server, run_id: str, items: int, **extra):
    cfg = resolve_config({
        "graph": "evalshape", "runs_dir": tmp_path, "run_id": run_id,
        "models": {"target": "openai/t", "judge": "openai/j"},
        "api_bases": {"openai/t": server.api_base, "openai/j": server.api_base},
        "params": {"items": items}, **extra}, None, {})
    return execute_run(RUNNER, cfg, RunDir.create(cfg))


def test_default_grows_while_latency_holds_fixed_stays(tmp_path, slow_server):
    adaptive = run(tmp_path, slow_server, "auto", 80)
    assert adaptive.state == "done" and adaptive.summary["ok"] == 80
    assert adaptive.summary["concurrency_peak"] >= 8  # from 4: grew (latency held)
    fixed = run(tmp_path, slow_server, "fixed", 8, concurrency=3)
    assert fixed.summary["ok"] == 8 and "concurrency_peak" not in fixed.summary


def test_a_budget_holds_the_growth_to_what_is_left(tmp_path, slow_server):
    outcome = run(tmp_path, slow_server, "budget", 500, budget=300)
    assert outcome.state == "incomplete"
    sent = slow_server.admin()["requests"]
    # 2 requests per item: the graphs in flight are held to what the budget left can pay for
    assert 300 <= sent <= 300 + 2 * 3, sent
    assert outcome.summary["concurrency_peak"] >= 8


def test_the_gate_holds_graphs_in_flight_to_the_budget_left():
    from types import SimpleNamespace

    from valuegraph.graphs._shared.runner import graph_gate

    usage = SimpleNamespace(total_calls=0)
    env = SimpleNamespace(cfg=SimpleNamespace(concurrency=None), pool=SimpleNamespace(
        usage=usage), budget_left=lambda: 100 - usage.total_calls)
    done = {"n": 0}
    gate, adaptive = graph_gate(env, lambda: done["n"])
    assert (gate.current, gate.max_limit) == (4, 256)
    adaptive.clamp()
    assert gate.current == 4  # nothing finished yet: the start
    gate.resize(64)  # grown while latency held
    usage.total_calls, done["n"] = 40, 10  # 4 requests per graph so far, 60 left: 15 more
    adaptive.clamp()
    assert gate.current == 15
    usage.total_calls, done["n"] = 96, 24
    adaptive.clamp()
    assert gate.current == 1  # 4 left: one graph
    fixed, none = graph_gate(SimpleNamespace(cfg=SimpleNamespace(concurrency=6)))
    assert (fixed.current, none) == (6, None)
