"""End to end from the command line: the embedded model and a model on the local
OpenAI-compatible server on every value system, judged on the server, into a leaderboard."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys

import pytest

from valuegraph.testing import compass_fakes as fakes
from valuegraph.testing.process import start_server


@pytest.mark.slow
def test_embedded_and_server_models_make_a_leaderboard(tmp_path):
    paths = fakes.write_items(tmp_path / "items")
    (tmp_path / "one.jsonl").write_text('{"prompt": "To me, being resourceful means", '
                                        '"dimension": "self_competence"}\n')
    server = start_server(rules=fakes.server_rules())
    board = tmp_path / "board"
    try:
        args = [sys.executable, "-m", "valuegraph.cli", "compass", str(board), "-m", "local",
                "-m", "openai/remote", "--release", str(paths["v1"]), "--items",
                f"mft={paths['mft']}", "--items", f"risk={paths['risk']}", "--items",
                f"fulva={tmp_path / 'one.jsonl'}", "--judge", "openai/judge", "--judge-mode",
                "joint", "--max-tokens", "48", "--resamples", "100",
                "--api-base", f"openai/remote={server.api_base}",
                "--api-base", f"openai/judge={server.api_base}"]
        result = subprocess.run(args, capture_output=True, text=True, timeout=900,
                                env={**os.environ, "PYTHONUNBUFFERED": "1"})
        assert result.returncode == 0, result.stderr[-3000:]
        served = server.admin()
    finally:
        server.stop()
    items = 3 + 3 + 3 + 1
    assert f"measured {2 * items} pair(s)" in result.stdout
    answers = [json.loads(x) for x in (board / "answers.jsonl").read_text().splitlines()]
    local = [a for a in answers if a["model"] == "local"]
    assert len(local) == items and all(a["responses"][0].strip() for a in local)
    # the server saw the remote model's answers and every judgement, never the local model
    assert served["requests"] >= items + items and served["repeated"] == 0
    with open(board / "leaderboard.csv") as fh:
        table = list(csv.DictReader(fh))
    means = {(r["model"], r["system"]) for r in table if r["dimension"] == "mean"}
    assert means == {(m, s) for m in ("local", "openai/remote")
                     for s in ("schwartz", "mft", "risk", "fulva")}
    document = json.loads((board / "leaderboard.json").read_text())
    assert document["counts"]["state"] == "done"
    assert (board / "report.html").stat().st_size > 20_000
    assert {p.name for p in (board / "platform").iterdir()} >= {
        "Schwartz_scores.json", "MFT_scores.json", "Risk_scores.json", "FULVa_scores.json",
        "value_sim_heatmap.json"}
