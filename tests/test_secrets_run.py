"""An API key in the environment never reaches any file of a run directory, even from a server
that echoes the ``Authorization`` header into its replies and its error bodies: the completion
cache, the checkpoints, the Chroma item bank, the records, the log and the status are searched
byte by byte."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

from valuegraph.testing.adaem_fakes import server_rules
from valuegraph.testing.process import start_server

SECRET = "sk-test-DO-NOT-WRITE-7f3a9c1e5b"
MASKED_ECHO = "[Authorization: Bearer ***]"
DENEVIL_RULES = [
    {"match": "Answer with one word, Yes or No", "reply": "Yes",
     "logprobs": {"Yes": math.log(0.8), "No": math.log(0.2)}},
    {"match": "revise story openings", "reply": "Scenario: The merchant eyes the till again."},
    {"match": "You write openings", "reply": "Scenario: The merchant finds extra coins."},
    {"match": ".", "reply": "The merchant quietly pockets the extra coins."},
]


def cli(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "OPENAI_API_KEY": SECRET}
    return subprocess.run([sys.executable, "-m", "valuegraph.cli", *args], env=env,
                          capture_output=True, text=True, timeout=600)


def leaks(run_dir: Path) -> tuple[list[str], int]:
    """Files under ``run_dir`` holding the key (any bytes), and how many files were read."""
    files = [p for p in run_dir.rglob("*") if p.is_file()]
    return [str(p.relative_to(run_dir)) for p in files if SECRET.encode() in p.read_bytes()], \
        len(files)


@pytest.mark.slow
def test_api_key_echoed_by_the_server_is_never_written(tmp_path):
    runs = tmp_path / "runs"
    server = start_server(rules=DENEVIL_RULES, echo_auth=True)
    try:
        # the first request fails (500, retried), the next is refused (400: a failed item)
        server.admin(faults=["500", "400"])
        spec = "openai/test"
        denevil = cli("run", "denevil", "--runs-dir", str(runs), "--run-id", "denevil",
                      "-s", f"api_bases={{{spec}: {server.api_base}}}",
                      *[a for role in ("attacker", "target", "judge", "optimizer")
                        for a in ("-s", f"models.{role}={spec}")],
                      "-s", "concurrency=1", "-s", "params.limit=3", "-s", "params.rounds=1",
                      "-s", "params.samples=2", "-s", "params.keep=1",
                      "-s", "params.formats=[jsonl]", "-s", "params.retry_wait=0.01")
        outcomes = server.admin()["by_outcome"]
        assert (outcomes["500"], outcomes["400"]) == (1, 1) and outcomes["ok"] > 10

        server.admin(rules=server_rules(), faults=["500", "400"])
        models = ("p1", "p2", "judge", "opt", "safe")
        bases = ", ".join(f"openai/{m}: {server.api_base}" for m in models)
        adaem = cli("grow", "--runs-dir", str(runs), "--run-id", "adaem", "--steps", "2",
                    "-e", "openai/p1", "-r", "openai/p2", "--judge", "openai/judge",
                    "--optimizer", "openai/opt", "--safety-judge", "openai/safe",
                    "-s", f"api_bases={{{bases}}}", "-s", "params.questions_per_step=2",
                    "-s", "params.judge_mode=joint", "-s", "params.max_depth=1",
                    "-s", "params.retry_wait=0.01")
    finally:
        server.stop()
    assert denevil.returncode == 0, denevil.stderr[-2000:]
    assert adaem.returncode == 0, adaem.stderr[-2000:]
    for process in (denevil, adaem):
        assert SECRET not in process.stdout + process.stderr

    for name, expected in (("denevil", {"checkpoints.sqlite", "results.jsonl", "run.log",
                                        "status.json", "config.yaml"}),
                           ("adaem", {"checkpoints.sqlite", "results.jsonl", "run.log",
                                      "status.json", "config.yaml"})):
        run_dir = runs / name
        found, count = leaks(run_dir)
        assert found == [], f"{name}: the key is in {found}"
        names = {p.name for p in run_dir.rglob("*") if p.is_file()}
        assert expected <= names, names
        assert any(p.suffix == ".sqlite3" for p in (run_dir / "bank").rglob("*")), \
            "no Chroma item bank was written"
        assert any((run_dir / "cache").iterdir()), "no completion cache was written"
        assert count >= 8
        # the echo did happen, masked: in the records and in the completion cache
        assert MASKED_ECHO in (run_dir / "results.jsonl").read_text()
        cache_bytes = b"".join(p.read_bytes() for p in (run_dir / "cache").rglob("*")
                               if p.is_file())
        assert MASKED_ECHO.encode() in cache_bytes
    failures = [line for line in (runs / "denevil" / "results.jsonl").read_text().splitlines()
                if '"status": "failed"' in line]
    assert len(failures) == 1 and "HTTP 400" in failures[0] and "Bearer ***" in failures[0]
