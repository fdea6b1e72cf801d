"""The compass on the real local OpenAI-compatible server: incremental runs repeat no call
(counted by the server), and a run killed with SIGKILL resumes without repeating any."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

from valuegraph.evals.compass.board import open_board
from valuegraph.evals.compass.run import run_compass
from valuegraph.testing import compass_fakes as fakes
from valuegraph.testing.process import start_server

ITEMS_V1 = 3 + 3 + 3 + 6  # schwartz v1, mft, risk, fulva


def test_incremental_runs_repeat_no_call(tmp_path):
    paths = fakes.write_items(tmp_path / "items")
    server = start_server(rules=fakes.server_rules())
    try:
        bases = dict.fromkeys(("openai/alpha", "openai/beta", "openai/judge"), server.api_base)
        root = tmp_path / "board"
        first = run_compass(open_board(
            root, models=["openai/alpha"],
            sources=[("schwartz", paths["v1"]), ("mft", paths["mft"]), ("risk", paths["risk"]),
                     ("fulva", paths["fulva"])],
            settings={"judge": "openai/judge", "judge_mode": "joint", "n_resamples": 100}),
            api_bases=bases)
        after_first = server.admin()
        assert first.state == "done" and first.counts["measured"] == ITEMS_V1
        assert after_first["requests"] == first.counts["requests"] > ITEMS_V1
        assert after_first["by_outcome"] == {"ok": after_first["requests"]}

        same = run_compass(open_board(root), api_bases=bases)
        assert same.counts["requests"] == 0 and server.admin()["requests"] == \
            after_first["requests"]

        model = run_compass(open_board(root, models=["openai/beta"]), api_bases=bases)
        after_model = server.admin()
        assert model.counts["measured"] == ITEMS_V1 and model.counts["reused"] == ITEMS_V1
        assert after_model["requests"] - after_first["requests"] == model.counts["requests"] > 0

        release = run_compass(open_board(root, sources=[("schwartz", paths["v2"])]),
                              api_bases=bases)
        after_release = server.admin()
        assert release.counts["measured"] == 2 * 2
        assert after_release["requests"] - after_model["requests"] == release.counts["requests"]
        assert after_release["repeated"] == 0  # no request body was ever answered twice
    finally:
        server.stop()
    answers = [json.loads(x) for x in (root / "answers.jsonl").read_text().splitlines()]
    assert len(answers) == 2 * (ITEMS_V1 + 2)
    assert len({a["key"] for a in answers}) == len(answers)
    document = json.loads((root / "leaderboard.json").read_text())
    assert document["models"] == ["openai/alpha", "openai/beta"]
    assert [r["release"] for r in document["systems"][0]["releases"]] == ["v1", "v2"]


def test_killed_run_resumes_without_repeating_calls(tmp_path):
    paths = fakes.write_items(tmp_path / "items")
    server = start_server(rules=fakes.server_rules())
    board = tmp_path / "board"
    args = [sys.executable, "-m", "valuegraph.cli", "compass", str(board), "-m", "openai/alpha",
            "-m", "openai/beta", "--release", str(paths["v1"]), "--items", f"risk={paths['risk']}",
            "--items", f"fulva={paths['fulva']}", "--judge", "openai/judge", "--judge-mode",
            "joint", "--concurrency", "2", "--resamples", "50",
            *(x for spec in ("openai/alpha", "openai/beta", "openai/judge")
              for x in ("--api-base", f"{spec}={server.api_base}"))]
    answers = board / "answers.jsonl"
    try:
        server.admin(delay=0.05)
        first = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                 text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
        deadline = time.monotonic() + 120
        while not answers.exists() or len(answers.read_text().splitlines()) < 4:
            assert first.poll() is None, first.stdout.read()
            assert time.monotonic() < deadline, "the first run made no progress"
            time.sleep(0.05)
        server.admin(delay=300)  # park new requests, let answered ones land, then kill
        time.sleep(0.5)
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
        done_before = len(answers.read_text().splitlines())
        before = server.admin(delay=0)
        assert 4 <= done_before < 2 * 12 and before["repeated"] == 0
        # the same board, resumed in this process (one interpreter start-up less); the
        # board remembers its models, items, judge and servers
        second = run_compass(open_board(board))
        after = server.admin()
    finally:
        server.stop()
    assert second.state == "done" and second.counts["reused"] == done_before
    assert second.counts["requests"] == after["requests"] - before["requests"]
    assert after["requests"] > before["requests"] and after["repeated"] == 0
    keys = [json.loads(x)["key"] for x in answers.read_text().splitlines()]
    assert len(keys) == len(set(keys)) == 2 * 12
    assert (board / "report.html").is_file()
