"""Kill a dataset-builder run mid-way (SIGKILL, in a subprocess), resume it, and check that
completed principles are not redone and no completed model call is made again."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from valuegraph.testing.process import start_server

PRINCIPLES = 6
# requests per principle: 1 scenario + 3 rounds x (1 target request with n=3 + 3 judgements)
# + 2 rewrites + the fresh evaluation (1 request with n=3 + 3 judgements) = 19
JUDGE_RULE = {"match": "Answer with one word, Yes or No", "reply": "Yes",
              "logprobs": {"Yes": math.log(0.8), "No": math.log(0.2)}}


def cli(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "valuegraph.cli", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})


def ok_records(path: Path) -> list[dict]:
    if not path.exists():
        return []
    lines = path.read_text().splitlines()
    return [r for r in map(json.loads, lines) if r.get("status") == "ok"]


@pytest.mark.parametrize("durability", ["exit", "sync"])
def test_killed_run_resumes_without_repeating_work(tmp_path, durability):
    server = start_server(rules=[JUDGE_RULE])
    try:
        server.admin(delay=0.03)  # slow enough to be killed mid-way
        config = tmp_path / "run.yaml"
        config.write_text(yaml.safe_dump({
            "graph": "denevil", "runs_dir": str(tmp_path / "runs"), "concurrency": 2,
            "models": {role: "openai/test" for role in ("attacker", "target", "judge")},
            "api_bases": {"openai/test": server.api_base},
            "params": {"rounds": 2, "samples": 3, "keep": 2, "limit": PRINCIPLES,
                       "scenarios_per_principle": 1,
                       "dedup_threshold": None, "formats": ["jsonl"],
                       "durability": durability},
        }))
        results = tmp_path / "runs" / "r1" / "results.jsonl"
        first = cli("run", "denevil", "-c", str(config), "--run-id", "r1")
        deadline = time.monotonic() + 120
        # two principles done and the next ones part-way (calls completed, graphs unfinished)
        while len(ok_records(results)) < 2 or server.admin()["requests"] < 2 * 19 + 4:
            assert first.poll() is None, first.stdout.read()
            assert time.monotonic() < deadline, "the first run made no progress"
            time.sleep(0.05)
        # Park new requests in the server (not yet answered), let answered ones land, then kill.
        server.admin(delay=300)
        time.sleep(0.5)
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
        done_before = {r["principle_id"] for r in ok_records(results)}
        assert 2 <= len(done_before) < PRINCIPLES
        before = server.admin(delay=0)
        assert before["repeated"] == 0

        second = cli("resume", "r1", "--runs-dir", str(tmp_path / "runs"))
        output, _ = second.communicate(timeout=300)
        assert second.returncode == 0, output
        after = server.admin()
    finally:
        server.stop()
    records = ok_records(results)
    assert sorted(r["principle_id"] for r in records) == sorted({r["principle_id"]
                                                                for r in records})
    assert len(records) == PRINCIPLES
    assert {r["principle_id"] for r in records[: len(done_before)]} == done_before
    assert after["requests"] > before["requests"]  # the resumed run did the remaining work
    assert after["repeated"] == 0  # ... and none that the first run had completed
    exported = (tmp_path / "runs" / "r1" / "exports" / "moralprompt.jsonl").read_text()
    assert len(exported.splitlines()) == PRINCIPLES
    status = json.loads((tmp_path / "runs" / "r1" / "status.json").read_text())
    assert status["state"] == "done" and status["summary"]["resumed_done"] == len(done_before)
