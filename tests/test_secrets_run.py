"""An API key in the environment never reaches any file of a run directory."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

SECRET = "sk-test-DO-NOT-WRITE-7f3a9c1e5b"


@pytest.mark.slow
def test_api_key_never_written_to_run_directory(server, tmp_path):
    server.admin(rules=[{"match": "(?i)violat|yes or no", "reply": "Yes"},
                        {"match": ".", "reply": "The merchant quietly pockets the extra coins."}])
    env = {**os.environ, "OPENAI_API_KEY": SECRET}
    spec = "openai/test"
    args = [sys.executable, "-m", "valuegraph.cli", "run", "denevil", "--runs-dir",
            str(tmp_path / "runs"), "--run-id", "secret-run",
            "--set", f"api_bases={{{spec}: {server.api_base}}}",
            "--set", "params.limit=2", "--set", "params.rounds=1",
            "--set", "params.samples=2", "--set", "params.keep=1",
            "--set", "params.formats=[jsonl]"]
    for role in ("attacker", "target", "judge", "optimizer"):
        args += ["--set", f"models.{role}={spec}"]
    result = subprocess.run(args, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    run_dir = tmp_path / "runs" / "secret-run"
    files = [p for p in run_dir.rglob("*") if p.is_file()]
    assert len(files) >= 5  # config, status, checkpoints, cache, results, log, exports
    assert (run_dir / "results.jsonl").stat().st_size > 0
    leaking = [str(p.relative_to(run_dir)) for p in files if SECRET.encode() in p.read_bytes()]
    assert leaking == []
    assert SECRET not in result.stdout + result.stderr
