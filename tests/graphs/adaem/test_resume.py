"""`valuegraph grow` in a subprocess against the local OpenAI-compatible server: killed with
SIGKILL at random points and resumed, and run against a faulty server."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.graphs.adaem.checks import check_run, read_records
from valuegraph.testing.adaem_fakes import server_rules
from valuegraph.testing.process import start_server

MODELS = ("p1a", "p1b", "p2", "judge", "opt", "safe")


def grow_command(runs: Path, api_base: str, steps: int, *extra: str) -> list[str]:
    bases = ", ".join(f"openai/{m}: {api_base}" for m in MODELS)
    return [sys.executable, "-m", "valuegraph.cli", "grow", "--runs-dir", str(runs),
            "--run-id", "g", "-e", "openai/p1a", "-e", "openai/p1b", "-r", "openai/p2",
            "--judge", "openai/judge", "--optimizer", "openai/opt",
            "--safety-judge", "openai/safe", "--steps", str(steps),
            "-s", f"api_bases={{{bases}}}", "-s", "params.questions_per_step=2",
            "-s", "params.judge_mode=joint", "-s", "params.max_depth=2",
            "-s", "params.steps_per_segment=2", "-s", "params.retry_wait=0.01", *extra]


def count_lines(path: Path) -> int:
    try:
        with open(path, "rb") as fh:
            return sum(1 for _ in fh)
    except FileNotFoundError:
        return 0


def final_summary(run: Path) -> dict:
    status = json.loads((run / "status.json").read_text())
    assert status["state"] == "done", status
    return status["summary"]


@pytest.mark.timeout(900)
def test_sigkill_at_random_points_loses_nothing_and_repeats_no_call(tmp_path):
    """Kill points are drawn (seeded) in units of progress, records written, so they land at
    different places of the step whatever the machine's speed. Before each kill the server
    holds new requests and the test waits a moment: a reply that reached the client is then
    cached, and the only calls left unanswered are the ones in flight, which a resumed run may
    (and does) make again; a call whose reply the client had is never repeated."""
    server = start_server(rules=server_rules(), timeout_sleep=0.5)
    rng = random.Random(20240611)
    runs, steps = tmp_path / "runs", 6
    run = runs / "g"
    results = run / "results.jsonl"
    try:
        command = grow_command(runs, server.api_base, steps, "-s", "params.request_timeout=30")
        resume = [sys.executable, "-m", "valuegraph.cli", "grow", "--runs-dir", str(runs),
                  "--resume", "g"]
        kills, seen_before_kill = 0, set()
        log = open(tmp_path / "stderr.log", "wb")  # noqa: SIM115 - closed in finally
        for attempt in range(4):
            process = subprocess.Popen(command if attempt == 0 else resume,
                                       stdout=subprocess.DEVNULL, stderr=log)
            target = count_lines(results) + rng.randint(8, 45)
            deadline = time.monotonic() + 240
            while process.poll() is None and count_lines(results) < target:
                assert time.monotonic() < deadline, "no progress in 240 s"
                time.sleep(0.05)
            if process.poll() is not None:
                break
            server.admin(delay=3600)  # hold every new request
            time.sleep(1.5)
            os.kill(process.pid, signal.SIGKILL)
            process.wait()
            server.admin(delay=0)
            kills += 1
            seen_before_kill |= {r["qid"] for r in read_records(run) if r["kind"] == "question"}
        else:
            process = subprocess.Popen(resume, stdout=subprocess.DEVNULL, stderr=log)
        process.wait(timeout=600)
        log.close()
        assert process.returncode == 0, (tmp_path / "stderr.log").read_text()[-2000:]
        assert kills >= 2
        summary = final_summary(run)
        assert summary["steps_done"] == steps and summary["done"]
        checked = check_run(run, summary["arms"], steps)
        final = {q["qid"] for q in checked["questions"]}
        assert seen_before_kill <= final, "a question recorded before a kill was lost"
        counters = server.admin()
        assert counters["repeated"] == 0, counters
    finally:
        server.stop()


@pytest.mark.timeout(600)
def test_faulty_server_run_completes_its_budget(tmp_path):
    faults = {"429": 0.1, "500": 0.05, "timeout": 0.05, "malformed": 0.05}
    server = start_server(rules=server_rules(), fault_rates=faults, timeout_sleep=0.3, seed=7)
    runs, steps = tmp_path / "runs", 4
    try:
        started = time.monotonic()
        done = subprocess.run(
            grow_command(runs, server.api_base, steps, "-s", "params.request_timeout=2",
                         "-s", "params.max_attempts=8"),
            capture_output=True, text=True, timeout=540)
        elapsed = time.monotonic() - started
        assert done.returncode == 0, done.stderr[-2000:]
        counters = server.admin()
    finally:
        server.stop()
    outcomes = counters["by_outcome"]
    assert all(outcomes.get(f, 0) > 0 for f in faults), outcomes
    summary = final_summary(runs / "g")
    assert summary["steps_done"] == steps and summary["kept"] > 0
    check_run(runs / "g", summary["arms"], steps)
    print(f"faulty server: {elapsed:.1f}s, {counters['requests']} requests, {outcomes}")
