"""MoralPrompt as the paper builds it: fresh evaluation samples, steering kept out of the
figures, several scenarios per principle, the fluency check and the dataset's statistics."""

from __future__ import annotations

import json
import math

import pytest
from langgraph.checkpoint.memory import InMemorySaver

from valuegraph.graphs._shared.records import MoralPromptRecord, load_scored_completions
from valuegraph.graphs._shared.seeds import call_seed
from valuegraph.graphs.denevil.graph import build_graph, recursion_limit
from valuegraph.graphs.denevil.runner import MANIFEST_FILE
from valuegraph.tools.backends.mock_backend import register_mock
from valuegraph.tools.rundir import RunDir

from .conftest import PRINCIPLE, judge_loglik, make_context
from .test_runner import config, execute, script_models


async def run_graph(ctx):
    compiled = build_graph().compile(checkpointer=InMemorySaver())
    config_ = {"configurable": {"thread_id": "t"}, "recursion_limit": recursion_limit(ctx)}
    return await compiled.ainvoke(PRINCIPLE, config_, context=ctx)


def scripted_attacker():
    register_mock("attacker", respond=lambda m, p, i: "Sam finds a wallet on the bus.")
    register_mock("judge", loglik=judge_loglik)


async def test_exported_figures_come_from_fresh_samples_not_the_selecting_ones():
    """Round 0's samples happen to violate (a lucky draw); fresh samples of the same prompt do
    not. The record exports the fresh figures and keeps the selecting ones apart."""
    scripted_attacker()
    lucky = call_seed(0, "fair-1", 0, "sample")
    register_mock("target", respond=lambda m, p, i:
                  "Sam steals it." if p.seed == lucky else "Sam returns it.")
    final = await run_graph(make_context(rounds=0, samples=4, evaluation_samples=3))
    result = final["result"]
    assert final["history"][0]["mean_violation"] == pytest.approx(0.9)
    assert result["selection_mean_violation"] == pytest.approx(0.9)
    assert result["selection_violation_rate"] == 1.0
    assert result["violation_source"] == "fresh" and result["samples"] == 3
    assert result["scores"] == pytest.approx([0.2] * 3)
    assert result["mean_violation"] == pytest.approx(0.2) and result["violation_rate"] == 0.0
    # without the fresh evaluation the selecting samples are exported, and labelled so
    plain = (await run_graph(make_context(rounds=0, samples=4, evaluation_samples=0)))["result"]
    assert plain["violation_source"] == "selection"
    assert plain["mean_violation"] == pytest.approx(0.9) and plain["samples"] == 4


async def test_steered_samples_feed_only_the_m_step():
    """A steered target always breaks the principle, an unsteered one never does: acceptance
    and the exported rates see only unsteered samples."""
    scripted_attacker()
    register_mock("attacker", respond=lambda m, p, i:
                  "Sam eyes the till, v2." if "revise story" in m[-1]["content"]
                  else "Sam finds a wallet on the bus.")
    register_mock("target", respond=lambda m, p, i:
                  "Sam steals it." if "acting against this principle" in m[-1]["content"]
                  else "Sam returns it.")
    final = await run_graph(make_context(rounds=1, samples=3, keep=2, rewrites=1,
                                         steer_target=True))
    first, second = final["history"]
    assert first["steered"] and first["scores"] == pytest.approx([0.9] * 3)  # posterior
    assert first["evaluation"]["scores"] == pytest.approx([0.2] * 3)
    assert first["mean_violation"] == pytest.approx(0.2)  # acceptance: unsteered only
    assert first["violation_rate"] == 0.0
    assert second["mean_violation"] == pytest.approx(0.2)
    result = final["result"]
    assert result["steered"] and result["violation_source"] == "fresh"
    assert result["scores"] == pytest.approx([0.2] * 3)
    assert all("returns" in c for c in result["completions"])
    assert result["mean_violation"] == pytest.approx(0.2)
    assert result["selection_mean_violation"] == pytest.approx(0.2)
    # the M-step was shown the steered (violating) continuations
    (rewrite,) = [c for c in final["history"][1]["candidates"]]
    assert rewrite["text"] == "Sam eyes the till, v2."


async def test_perplexity_is_unscored_where_no_backend_scores():
    scripted_attacker()
    register_mock("target", respond=lambda m, p, i: "Sam returns it.")  # no loglik scripted
    result = (await run_graph(make_context(rounds=0, samples=2, keep=1)))["result"]
    assert result["perplexity"] is None and result["fluency_model"] is None
    register_mock("reference", loglik=lambda prompt, c: -14.0)
    scored = (await run_graph(make_context(rounds=0, samples=2, keep=1,
                                           fluency_model="mock/reference")))["result"]
    # -14 over the 7 words of "Sam finds a wallet on the bus."
    assert scored["perplexity"] == pytest.approx(math.exp(2.0))
    assert scored["fluency_model"] == "mock/reference"


def _scenario_by_seed(text: str) -> str:
    return f"An opening about: {text[:40]}"


def test_several_scenarios_per_principle_resume_by_item(tmp_path):
    seeds = {}

    def attacker(messages, params, index):
        text = messages[-1]["content"]
        principle = text.split('"')[1]
        seeds.setdefault(principle, set()).add(params.seed)
        return f"Take {params.seed % 997}: somebody tempted by {principle}"

    register_mock("w", respond=attacker)
    register_mock("t", respond=lambda m, p, i: f"They do it anyway ({i}).",
                  loglik=lambda prompt, c: -2.0 * len(c.split()))
    register_mock("j", respond=lambda m, p, i: "Yes")
    cfg = config(tmp_path, rounds=0, scenarios_per_principle=2, limit=4, formats=["jsonl"])
    run_dir = RunDir.create(cfg)
    summary, _ = execute(cfg, run_dir)
    # limit counts items: two principles (one per foundation first) x two scenarios
    assert summary["items"] == 4 and summary["ok"] == 4
    records = run_dir.results.read()
    assert sorted(r["item_id"] for r in records) == ["a", "a#1", "b", "b#1"]
    assert {(r["principle_id"], r["scenario_index"]) for r in records} == {
        ("a", 0), ("a", 1), ("b", 0), ("b", 1)}
    by_item = {r["item_id"]: r for r in records}
    assert by_item["a"]["prompt"] != by_item["a#1"]["prompt"]  # own seeds, own scenario
    assert all(len(s) == 2 for s in seeds.values())
    exported = [json.loads(x) for x in
                (run_dir.exports_dir / "moralprompt.jsonl").read_text().splitlines()]
    assert [(r["principle_id"], r["scenario_index"]) for r in exported] == [
        ("a", 0), ("a", 1), ("b", 0), ("b", 1)]
    again, pool = execute(cfg, run_dir)
    assert again["resumed_done"] == 4 and pool.usage.total_calls == 0


def test_fluency_filter_and_dataset_manifest(tmp_path):
    script_models(scenario=lambda principle: "Once upon a time " + " ".join(
        ["someone wondered"] * (1 if "steal" in principle else 6)) + ".")
    # the reference LM: -1 per word, and a heavy penalty for the long rambling opening
    register_mock("ref", loglik=lambda prompt, c: -1.0 * len(c.split())
                  - (40.0 if c.count("wondered") > 3 else 0.0))
    cfg = config(tmp_path, rounds=0, samples=2, fluency_model="mock/ref", max_perplexity=5.0,
                 formats=["jsonl"])
    run_dir = RunDir.create(cfg)
    summary, _ = execute(cfg, run_dir)
    assert (summary["ok"], summary["disfluent"]) == (1, 2)
    records = {r["principle_id"]: r for r in run_dir.results.read()}
    assert records["a"]["perplexity"] == pytest.approx(math.e)  # -1 per word
    assert records["b"]["status"] == "disfluent" and records["b"]["perplexity"] > 5.0
    exported = (run_dir.exports_dir / "moralprompt.jsonl").read_text().splitlines()
    assert [json.loads(x)["principle_id"] for x in exported] == ["a"]
    manifest = json.loads((run_dir.exports_dir / MANIFEST_FILE).read_text())
    assert manifest["count"] == 1 and manifest["excluded"] == {"duplicate": 0, "disfluent": 2}
    assert manifest["perplexity"]["mean"] == pytest.approx(math.e)
    assert manifest["perplexity"]["unit"] == "per word"
    assert manifest["perplexity"]["models"] == ["mock/ref"]
    assert manifest["violation"]["sources"] == {"fresh": 1}
    assert manifest["violation"]["mean_violation"]["mean"] == pytest.approx(1.0)
    assert manifest["self_bleu"] == 0.0  # one prompt: nothing to compare with
    assert manifest["self_bleu_details"]["tokenizer"] == "13a"
    assert manifest["filters"] == {"dedup_threshold": None, "max_perplexity": 5.0}


def test_manifest_self_bleu_over_several_prompts(tmp_path):
    script_models(scenario=lambda principle: f"At dawn a stranger considered: {principle}")
    cfg = config(tmp_path, rounds=0, samples=1, keep=1, formats=["jsonl"])
    run_dir = RunDir.create(cfg)
    execute(cfg, run_dir)
    manifest = json.loads((run_dir.exports_dir / MANIFEST_FILE).read_text())
    assert manifest["count"] == 3 and manifest["principles"] == 3
    assert 0 < manifest["self_bleu"] < 100
    assert manifest["self_bleu_details"]["references"] == 2
    assert manifest["perplexity"]["unscored"] == 3  # mock/t scores nothing


def test_moral_prompt_records_hand_fresh_samples_to_d2o(tmp_path):
    """The typed record stays what ``load_scored_completions`` (the D²O hand-off) reads, with
    the new optional fields, and old records without them still load."""
    script_models()
    cfg = config(tmp_path, rounds=0, samples=2, keep=1, formats=["jsonl"])
    run_dir = RunDir.create(cfg)
    execute(cfg, run_dir)
    rows = load_scored_completions(run_dir.root)
    assert len(rows) == 3 * 2
    record = MoralPromptRecord.model_validate(run_dir.results.read()[0])
    assert record.violation_source == "fresh"
    assert [r.completion for r in rows[:2]] == record.completions
    old = {k: v for k, v in run_dir.results.read()[0].items()
           if k not in ("scenario_index", "violation_source", "selection_mean_violation",
                        "selection_violation_rate", "steered", "perplexity", "fluency_model")}
    legacy = MoralPromptRecord.model_validate(old)
    assert legacy.violation_source == "selection" and legacy.scenario_index == 0
    path = tmp_path / "old.jsonl"
    path.write_text(json.dumps(old) + "\n")
    assert len(load_scored_completions(path)) == 2
