"""Replies in flight when a run is killed never reach the cache, so the resumed run sends those
requests again. The run records the requests it has in flight (``status.json``: ``in_flight``,
every second) and the resumed run counts the ones it sends again (``resent``): here the count
equals what the server saw arrive twice."""

from __future__ import annotations

import json
import math
import signal
import subprocess
import sys
import time

import yaml

from valuegraph.graphs._shared.runner import IN_FLIGHT_INTERVAL_S
from valuegraph.testing.process import start_server

JUDGE_RULE = {"match": "Answer with one word, Yes or No", "reply": "Yes",
              "logprobs": {"Yes": math.log(0.8), "No": math.log(0.2)}}


def cli(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "valuegraph.cli", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def test_requests_in_flight_at_a_kill_are_counted_when_resent(tmp_path):
    server = start_server(rules=[JUDGE_RULE])
    run = tmp_path / "runs" / "r"
    try:
        server.admin(delay=0.05)
        config = tmp_path / "run.yaml"
        config.write_text(yaml.safe_dump({
            "graph": "denevil", "runs_dir": str(tmp_path / "runs"), "concurrency": 3,
            "models": {role: "openai/test" for role in ("attacker", "target", "judge")},
            "api_bases": {"openai/test": server.api_base},
            "params": {"rounds": 1, "samples": 2, "keep": 1,
                       "scenarios_per_principle": 1, "limit": 4,
                       "dedup_threshold": None, "formats": ["jsonl"]}}))
        first = cli("run", "denevil", "-c", str(config), "--run-id", "r")
        deadline = time.monotonic() + 120
        while server.admin()["requests"] < 8:
            assert first.poll() is None, first.stdout.read()
            assert time.monotonic() < deadline, "the first run made no progress"
            time.sleep(0.05)
        server.admin(delay=300)  # park every new request: those out now stay in flight
        time.sleep(2.5 * IN_FLIGHT_INTERVAL_S + 0.5)  # ... and are recorded
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
        killed = json.loads((run / "status.json").read_text())
        assert killed["state"] == "running"
        in_flight = killed["in_flight"]
        assert len(in_flight) >= 1 and len(set(in_flight)) == len(in_flight)
        before = server.admin(delay=0)
        assert before["received_again"] == 0

        second = cli("resume", "r", "--runs-dir", str(tmp_path / "runs"))
        output, _ = second.communicate(timeout=300)
        assert second.returncode == 0, output
        after = server.admin()
    finally:
        server.stop()
    status = json.loads((run / "status.json").read_text())
    assert status["state"] == "done" and status["summary"]["done"] == 4
    sent_again = after["received_again"] - before["received_again"]
    assert sent_again >= 1
    assert status["resent"] == sent_again  # counted exactly: no retries in this run
    assert status["in_flight"] == []
    assert after["repeated"] == 0  # no reply the first process received was asked for again
