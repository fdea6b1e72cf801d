"""IROTE end to end on the embedded default model (SmolLM2-135M in-process): one trait, one
round, the demo's small sets, scored by log-likelihood."""

from __future__ import annotations

import json

import pytest

from valuegraph.api import run_graph
from valuegraph.graphs.irote.graph import SEED_ATTEMPTS


@pytest.mark.slow
def test_one_round_on_the_embedded_model(tmp_path):
    pytest.importorskip("llama_cpp")
    outcome = run_graph("irote", runs_dir=tmp_path, run_id="local", params={
        "demo": True, "optimizer_max_tokens": 64, "formats": ["jsonl"]})
    assert outcome.state == "done", outcome.error
    (record,) = [json.loads(line) for line in (outcome.root / "results.jsonl").open()]
    assert record["kind"] == "irote_reflection" and record["trait_id"] == "big_five:O"
    assert (record["reward_method"], record["probability_method"]) == ("loglik", "loglik")
    assert record["rounds"] == 1 and record["exit_reason"] == "rounds"
    # the 135M model rarely writes numbered lists: its prose is split into lines
    assert record["lines"] and all(line.strip() for line in record["lines"])
    assert record["text"].startswith("Given the following insights about me:\n1. ")
    initial = [s for s in record["sets"] if s["iteration"] == 0]
    assert len(initial) == 2 and all(len(s["lines"]) == 3 for s in initial)
    # expected ratings under the model's option log-likelihoods: inside the 0-10 scale
    assert all(2.0 <= s["reward"] <= 10.0 for s in record["sets"])
    assert len(record["round_best"]) == 2
    usage = json.loads((outcome.root / "status.json").read_text())["usage"]
    # one or two seed lists (a second when the first gives too few lines), then think, write
    # and one summary; the target and the judge only score log-likelihoods
    assert 3 + 1 <= usage["optimizer"]["calls"] <= 3 + SEED_ATTEMPTS
    assert usage["target"]["calls"] == 2 * 2 + 2 * len(
        [s for s in record["sets"] if s["iteration"] == 1])
