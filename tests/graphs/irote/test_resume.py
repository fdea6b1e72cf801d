"""Kill an IROTE run mid-way (SIGKILL, in a subprocess), resume it, and check that finished
traits are not redone and no model request that was answered is sent again."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import yaml

from valuegraph.testing.irote_fakes import RULES
from valuegraph.testing.process import start_server

TRAITS = ["O", "C", "E", "A", "N"]


def cli(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "valuegraph.cli", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})


def ok_records(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [r for r in map(json.loads, path.read_text().splitlines()) if r["status"] == "ok"]


def test_killed_run_resumes_without_repeating_requests(tmp_path):
    server = start_server(rules=RULES)
    try:
        server.admin(delay=0.02)  # slow enough to be killed mid-way
        config = tmp_path / "run.yaml"
        config.write_text(yaml.safe_dump({
            "graph": "irote", "runs_dir": str(tmp_path / "runs"), "concurrency": 1,
            "models": {role: "openai/test" for role in ("target", "optimizer", "judge")},
            "api_bases": {"openai/test": server.api_base},
            "params": {"traits": TRAITS, "rounds": 1, "initial_sets": 2, "set_size": 3,
                       "distractor_turns": [0, 1], "embedder": "hashing",
                       "formats": ["jsonl"]}}))
        results = tmp_path / "runs" / "r1" / "results.jsonl"
        first = cli("run", "irote", "-c", str(config), "--run-id", "r1")
        deadline = time.monotonic() + 180
        while len(ok_records(results)) < 2:  # two traits done, the third under way
            assert first.poll() is None, first.stdout.read()
            assert time.monotonic() < deadline, "the first run made no progress"
            time.sleep(0.05)
        time.sleep(0.3)
        # Park new requests in the server (not yet answered), let answered ones land, then kill.
        server.admin(delay=300)
        time.sleep(0.5)
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
        done_before = {r["trait_id"] for r in ok_records(results)}
        assert 2 <= len(done_before) < len(TRAITS)
        before = server.admin(delay=0)
        assert before["repeated"] == 0

        second = cli("resume", "r1", "--runs-dir", str(tmp_path / "runs"))
        output, _ = second.communicate(timeout=300)
        assert second.returncode == 0, output
        after = server.admin()
    finally:
        server.stop()
    records = ok_records(results)
    assert sorted(r["trait_id"] for r in records) == [f"big_five:{t}" for t in sorted(TRAITS)]
    assert {r["trait_id"] for r in records[: len(done_before)]} == done_before
    assert after["requests"] > before["requests"]  # the resumed run did the remaining work
    assert after["repeated"] == 0  # ... and none that the first run had completed
    status = json.loads((tmp_path / "runs" / "r1" / "status.json").read_text())
    assert status["state"] == "done" and status["summary"]["resumed_done"] == len(done_before)
    assert status["cache_hits"] > 0  # the interrupted trait's answered requests, replayed
