"""The CPU path for real: a run owns two llama.cpp server replicas (the embedded SmolLM2);
one is SIGKILLed mid-run; the run completes and loses nothing."""

from __future__ import annotations

import json
import os
import signal
import threading
import time

import pytest

from tests.eval_loop import RUNNER
from valuegraph.config import resolve_config
from valuegraph.graphs._shared import runner as kit
from valuegraph.tools.rundir import RunDir

ITEMS = 6


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_a_replica_killed_mid_run_loses_nothing(tmp_path, monkeypatch):
    servers = {"servers": [{"name": "smol", "engine": "llama_cpp", "replicas": 2,
                            "args": ["--n_ctx", "512", "--n_threads", "1"]}],
               "health_interval": 0.2, "log_dir": str(tmp_path / "logs")}
    cfg = resolve_config({
        "graph": "evalshape", "runs_dir": tmp_path / "runs", "run_id": "fleet",
        "models": {"target": "openai/smol", "judge": "openai/smol"}, "servers": servers,
        "concurrency": 4, "params": {"items": ITEMS, "max_tokens": 4, "judge_method": "vote"}},
        None, {})
    RUNNER.validate(cfg)
    run_dir = RunDir.create(cfg)
    pools = []
    real_make_pool = kit.make_pool

    def make_pool(*args, **kwargs):
        pools.append(real_make_pool(*args, **kwargs))
        return pools[-1]

    monkeypatch.setattr(kit, "make_pool", make_pool)
    killed: dict[str, object] = {}

    def kill_one_when_requests_flow() -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if pools and pools[0].usage.total_calls >= 3:
                replica = pools[0].servers.replicas[0]
                killed["pid"], killed["replica"] = replica.process.pid, replica
                os.killpg(replica.process.pid, signal.SIGKILL)
                return
            time.sleep(0.02)

    killer = threading.Thread(target=kill_one_when_requests_flow)
    killer.start()
    outcome = kit.execute_run(RUNNER, cfg, run_dir)
    killer.join()

    assert outcome.state == "done", outcome.error
    assert outcome.summary["ok"] == ITEMS and outcome.summary["failed"] == 0
    records = [json.loads(line) for line in run_dir.results_path.read_text().splitlines()]
    assert sorted(r["item_id"] for r in records) == [f"q{i:04d}" for i in range(ITEMS)]
    assert all(r["status"] == "ok" and r["answer"] for r in records)
    usage = pools[0].usage
    assert usage.total_calls == 2 * ITEMS  # one answer and one vote per item, none lost
    assert usage.role("target").errors == usage.role("judge").errors == 0
    replica = killed["replica"]
    assert "exited -9" in replica.history  # the fleet saw the crash and restarted it
    assert replica.restarts == 1
    assert pools[0].servers is None  # the run stopped the servers it owned
    with pytest.raises(ProcessLookupError):
        os.kill(replica.process.pid if replica.process else killed["pid"], 0)
