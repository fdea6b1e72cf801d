"""Every loop's context carries the request policy (``request_timeout``, ``retry_wait``,
``max_attempts``) and the run's pool obeys it: a server that stops answering costs
``max_attempts`` x ``request_timeout``, not the pool's default 120 s per try."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from valuegraph.cli import app
from valuegraph.graphs import GRAPHS, load_runner

POLICY = ("request_timeout", "retry_wait", "max_attempts")


@pytest.mark.parametrize("name", [e.name for e in GRAPHS])
def test_every_loop_context_has_the_request_policy(name):
    context_cls = load_runner(name).context_cls
    assert set(POLICY) <= set(context_cls.field_names())
    context = context_cls(request_timeout=2.5, retry_wait=0.25, max_attempts=3)
    pool = context.pool
    assert (pool.timeout, pool.retry_wait, pool.max_attempts) == (2.5, 0.25, 3)


def test_a_silent_server_costs_max_attempts_times_the_timeout(tmp_path, server):
    server.admin(faults=["timeout"] * 4)  # the server sleeps 3 s on each of these
    args = ["run", "denevil", "--runs-dir", str(tmp_path / "runs"), "--run-id", "r",
            "-s", "concurrency=1", "-s", f"api_bases={{openai/test: {server.api_base}}}",
            "-s", "models.attacker=openai/test", "-s", "models.target=openai/test",
            "-s", "models.judge=openai/test", "-s", "params.limit=1",
            "-s", "params.dedup_threshold=null", "-s", "params.formats=[jsonl]",
            "-s", "params.request_timeout=0.4", "-s", "params.retry_wait=0.01",
            "-s", "params.max_attempts=2"]
    result = CliRunner().invoke(app, args, env={"OPENAI_API_KEY": None})
    elapsed = json.loads((tmp_path / "runs" / "r" / "status.json").read_text())["seconds"]
    assert result.exit_code == 1, result.output  # the one principle failed
    record = json.loads((tmp_path / "runs" / "r" / "results.jsonl").read_text())
    assert record["status"] == "failed"
    assert "Timeout after 0.4s" in record["error"]
    assert server.admin()["by_outcome"] == {"timeout": 2}  # two tries, then it gave up
    assert elapsed < 2.9  # well under one server sleep (3 s): the timeout cut both tries
