"""Long runs on the Postgres checkpointer, against a real PostgreSQL server the tests start:
a DeNEVIL run and an AdAEM growth run SIGKILLed mid-way and resumed lose nothing and repeat
nothing."""

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

from tests.graphs.adaem.checks import check_run, read_records
from tests.graphs.adaem.test_resume import count_lines, final_summary, grow_command
from valuegraph.testing.adaem_fakes import server_rules
from valuegraph.testing.postgres import PostgresUnavailable, start_postgres
from valuegraph.testing.process import start_server

JUDGE_RULE = {"match": "Answer with one word, Yes or No", "reply": "Yes",
              "logprobs": {"Yes": math.log(0.8), "No": math.log(0.2)}}
PRINCIPLES = 5


@pytest.fixture(scope="module")
def postgres():
    try:
        server = start_postgres()
    except PostgresUnavailable as exc:
        pytest.skip(f"no PostgreSQL server here: {exc}")
    yield server
    server.stop()


def threads_in(url: str) -> dict[str, int]:
    import psycopg

    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT thread_id, COUNT(*) FROM checkpoints GROUP BY thread_id")
        return dict(rows.fetchall())


def ok_records(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [r for r in map(json.loads, path.read_text().splitlines()) if r["status"] == "ok"]


def cli(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "valuegraph.cli", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


@pytest.mark.timeout(300)
def test_denevil_killed_and_resumed_on_postgres(tmp_path, postgres):
    url = postgres.create_database("denevil")
    server = start_server(rules=[JUDGE_RULE])
    runs = tmp_path / "runs"
    results = runs / "pg" / "results.jsonl"
    try:
        server.admin(delay=0.03)
        config = tmp_path / "run.yaml"
        config.write_text(yaml.safe_dump({
            "graph": "denevil", "runs_dir": str(runs), "concurrency": 2, "checkpointer": url,
            "models": {role: "openai/test" for role in ("attacker", "target", "judge")},
            "api_bases": {"openai/test": server.api_base},
            "params": {"rounds": 2, "samples": 3, "keep": 2,
                       "scenarios_per_principle": 1, "limit": PRINCIPLES,
                       "dedup_threshold": None, "formats": ["jsonl"], "durability": "sync"}}))
        first = cli("run", "denevil", "-c", str(config), "--run-id", "pg")
        deadline = time.monotonic() + 120
        # one principle done, the next ones part-way (15 requests per principle)
        while len(ok_records(results)) < 1 or server.admin()["requests"] < 15 + 6:
            assert first.poll() is None, first.stdout.read()
            assert time.monotonic() < deadline, "the first run made no progress"
            time.sleep(0.05)
        server.admin(delay=300)  # park new requests, let answered ones land, then kill
        time.sleep(0.5)
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
        done_before = {r["principle_id"] for r in ok_records(results)}
        assert 1 <= len(done_before) < PRINCIPLES
        unfinished = {t for t, n in threads_in(url).items()} - {f"denevil:{p}" for p in
                                                                 done_before}
        assert unfinished, "no graph was part-way in Postgres when the run was killed"
        before = server.admin(delay=0)
        second = cli("resume", "pg", "--runs-dir", str(runs))
        output, _ = second.communicate(timeout=240)
        assert second.returncode == 0, output
        after = server.admin()
    finally:
        server.stop()
    records = ok_records(results)
    ids = [r["principle_id"] for r in records]
    assert len(ids) == len(set(ids)) == PRINCIPLES  # nothing lost, nothing twice
    assert set(ids[: len(done_before)]) == done_before
    assert after["requests"] > before["requests"] and after["repeated"] == 0
    assert len(threads_in(url)) == PRINCIPLES  # every graph checkpointed in Postgres ...
    assert not (runs / "pg" / "checkpoints.sqlite").exists()  # ... and none in SQLite
    status = json.loads((runs / "pg" / "status.json").read_text())
    assert status["state"] == "done" and status["summary"]["resumed_done"] == len(done_before)


@pytest.mark.timeout(400)
def test_growth_killed_and_resumed_on_postgres(tmp_path, postgres):
    url = postgres.create_database("growth")
    server = start_server(rules=server_rules(), timeout_sleep=0.5)
    runs, steps = tmp_path / "runs", 3  # two segments (2 steps each): a thread is deleted
    run = runs / "g"
    try:
        command = grow_command(runs, server.api_base, steps, "-s", f"checkpointer={url}",
                               "-s", "params.request_timeout=30")
        log = open(tmp_path / "stderr.log", "wb")  # noqa: SIM115 - closed below
        first = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=log)
        deadline = time.monotonic() + 240
        while first.poll() is None and count_lines(run / "results.jsonl") < 10:
            assert time.monotonic() < deadline, "no progress in 240 s"
            time.sleep(0.05)
        assert first.poll() is None, (tmp_path / "stderr.log").read_text()[-2000:]
        server.admin(delay=3600)  # hold every new request
        time.sleep(1.5)
        os.kill(first.pid, signal.SIGKILL)
        first.wait()
        server.admin(delay=0)
        seen = {r["qid"] for r in read_records(run) if r["kind"] == "question"}
        segment_threads = set(threads_in(url))
        assert segment_threads and all(t.startswith("adaem-") for t in segment_threads)
        resume = [sys.executable, "-m", "valuegraph.cli", "grow", "--runs-dir", str(runs),
                  "--resume", "g"]
        second = subprocess.run(resume, stdout=subprocess.DEVNULL, stderr=log, timeout=300)
        log.close()
        assert second.returncode == 0, (tmp_path / "stderr.log").read_text()[-2000:]
        counters = server.admin()
    finally:
        server.stop()
    summary = final_summary(run)
    assert summary["steps_done"] == steps and summary["done"]
    checked = check_run(run, summary["arms"], steps)  # no record twice, arms replayed exactly
    assert seen <= {q["qid"] for q in checked["questions"]}, "a recorded question was lost"
    assert counters["repeated"] == 0, counters
    assert not (run / "checkpoints.sqlite").exists()
    assert len(threads_in(url)) == 1  # finished segments' threads are deleted as it goes
