"""The AdAEM graph and runner on scripted ``mock/`` models (in-process, no network)."""

from __future__ import annotations

import dataclasses
import sqlite3
from typing import Any

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Command

from tests.graphs.adaem.checks import check_run, read_records
from valuegraph.agents.value_labeller import QuestionScorer, ScoreOutcome
from valuegraph.config import ConfigError, resolve_config
from valuegraph.graphs._shared.resources import Resources
from valuegraph.graphs._shared.runner import RunEnv
from valuegraph.graphs.adaem.context import AdaemContext
from valuegraph.graphs.adaem.graph import build_graph, exit_reason, recursion_limit
from valuegraph.graphs.adaem.release import read_release, release_dirs
from valuegraph.graphs.adaem.runner import RUNNER as runner
from valuegraph.graphs.adaem.state import AdaemState
from valuegraph.graphs.adaem.store import open_store
from valuegraph.testing import adaem_fakes as fakes
from valuegraph.tools.backends.mock_backend import register_mock
from valuegraph.tools.pool import ModelPool
from valuegraph.tools.rundir import RunDir
from valuegraph.tools.types import BackendError
from valuegraph.values.informativeness import ScoreParts


def make_cfg(tmp_path: Any, run_id: str = "r", **params: Any) -> Any:
    specs = fakes.register_all()
    base = {"explorers": [specs["explorer"], specs["explorer2"]],
            "respondents": [specs["respondent"]], "questions_per_step": 2,
            "judge_mode": "joint", "steps": 3, "steps_per_segment": 2}
    return resolve_config({
        "graph": "adaem", "runs_dir": tmp_path / "runs", "run_id": run_id,
        "models": {"attacker": specs["explorer"], "target": specs["respondent"],
                   "judge": specs["judge"], "optimizer": specs["optimizer"]},
        "params": {**base, **params}}, None, {})


async def grow(cfg: Any, run_dir: Any = None) -> tuple[dict[str, Any], Any, ModelPool]:
    runner.validate(cfg)
    run_dir = run_dir or RunDir.create(cfg)
    pool = ModelPool(run_dir.cache_dir)
    try:
        summary = await runner.run(RunEnv(cfg, run_dir, pool))
    finally:
        pool.close()
    return summary, run_dir, pool


def context_for(tmp_path: Any, resources: Resources, **fields: Any) -> AdaemContext:
    specs = fakes.register_all()
    values = {"explorers": [specs["explorer"]], "respondents": [specs["respondent"]],
              "judge": specs["judge"], "optimizer": specs["optimizer"], "judge_mode": "joint",
              "questions_per_step": 2, "steps": 1, "run_dir": str(tmp_path / "g"),
              "run_tag": "t-", "resources": resources}
    return AdaemContext(**{**values, **fields})


@pytest.fixture
def bound_pool(tmp_path):
    resources = Resources(ModelPool(tmp_path / "cache"), tmp_path)
    yield resources
    resources.close()


async def test_growth_end_to_end_on_scripted_models(tmp_path):
    specs = fakes.register_all()
    cfg = make_cfg(tmp_path, steps=5, release_every=4, safety_judge=specs["safety"],
                   max_depth=2)
    summary, run_dir, pool = await grow(cfg)
    assert summary["exit_reason"] == "steps" and summary["done"]
    assert summary["steps_done"] == 5
    checked = check_run(run_dir.root, summary["arms"], 5)
    questions = checked["questions"]
    kept = [q for q in questions if q["status"] == "kept"]
    assert summary["kept"] == len(kept) > 0
    assert summary["mean_S"] == pytest.approx(sum(q["S"] for q in kept) / len(kept))
    assert summary["requests_made"] == pool.usage.total_calls > 0
    # every kept question carries its lineage and both scores
    for q in questions:
        assert q["generator"].startswith("mock/") and q["S_estimate"] is not None
        assert q["root_id"] == q["qid"].split(".r")[0]
    # releases: written, re-read, disjoint, without flagged questions
    versions = release_dirs(run_dir.root)
    assert [p.name for p in versions] == summary["releases"] and versions
    released = [read_release(p) for p in versions]
    ids = [q["qid"] for r in released for q in r.questions]
    assert len(ids) == len(set(ids))
    flagged = {q["qid"] for q in questions if q["status"] == "flagged"}
    assert not flagged & set(ids)
    first = released[0]
    assert first.manifest["count"] == len(first.questions) > 0
    assert set(first.manifest) >= {"count", "mean_S", "self_bleu", "distinct_2",
                                   "mean_similarity", "pools", "seed", "version"}
    assert first.manifest["pools"]["p2"] == [specs["explorer"], specs["explorer2"],
                                             specs["respondent"]]
    # the score's form, the bandit's scale settings and Self-BLEU's settings are recorded
    assert first.manifest["score"]["vc_form"] == "intersection_over_union"
    assert first.manifest["vc_forms"] == ["intersection_over_union"]
    assert first.manifest["bandit"] == {"tau": 0.5, "tau_mode": "spread",
                                        "reward_scale": "normalised", "empty_step_reward": None}
    bleu = first.manifest["self_bleu_details"]
    assert bleu["score"] == first.manifest["self_bleu"] and bleu["tokenizer"] == "13a"
    assert bleu["references"] == min(100, first.manifest["count"] - 1)
    assert all(q["S_parts"]["extra"]["vc_form"] == "intersection_over_union"
               for q in first.questions)
    # finished segments' checkpoint threads are deleted (the DB does not grow with the run)
    with sqlite3.connect(run_dir.root / "checkpoints.sqlite") as db:
        threads = {row[0] for row in db.execute("SELECT DISTINCT thread_id FROM checkpoints")}
    assert threads == {"adaem-000002"}
    # resuming a finished run returns its summary without a model call
    again, _, pool2 = await grow(cfg, RunDir.open(cfg.runs_dir, "r"))
    assert again["steps_done"] == 5 and again["arms"] == summary["arms"]
    assert pool2.usage.total_calls == 0


async def test_every_node_key_is_a_state_field(tmp_path, bound_pool):
    ctx = context_for(tmp_path, bound_pool, steps=2, max_depth=1)
    graph = build_graph().compile(checkpointer=InMemorySaver())
    names = {f.name for f in dataclasses.fields(AdaemState)}
    seen = set()
    config = {"configurable": {"thread_id": "t"}, "recursion_limit": recursion_limit(ctx)}
    async for update in graph.astream({"segment_steps": 0}, config, context=ctx,
                                      stream_mode="updates"):
        for node, values in update.items():
            seen.add(node)
            assert set(values or {}) <= names, f"{node} returned {set(values) - names}"
    assert seen >= {"select_arm", "explore", "dedup", "estimate", "refine", "final_score",
                    "record", "update_arm"}


async def test_refinement_is_tau_gated_and_depth_bounded(tmp_path, bound_pool, monkeypatch):
    base = fakes.question(0)
    first, second = fakes.question(1), fakes.question(2)
    scores = {base: 3.0, first: 4.0, second: 4.2}  # +1.0 accepted, then +0.2 < τ rejected

    async def scripted(self, question, specs):
        return ScoreOutcome(ScoreParts(scores.get(question, 1.0)))

    monkeypatch.setattr(QuestionScorer, "score", scripted)
    explorer_spec = "mock/one-explorer"
    register_mock("one-explorer",
                  respond=lambda m, p, i: "Fact: x" if "Fact:" in m[-1]["content"]
                  else f"Question: {base}")
    refinements = iter([first, second])
    register_mock("scripted-optimizer",
                  respond=lambda m, p, i: "be concrete" if "Suggest how" in m[-1]["content"]
                  else f"Question: {next(refinements)}")
    ctx = context_for(tmp_path, bound_pool, explorers=[explorer_spec], questions_per_step=1,
                      optimizer="mock/scripted-optimizer")
    graph = build_graph().compile(checkpointer=InMemorySaver())
    await graph.ainvoke({"segment_steps": 0}, {"configurable": {"thread_id": "t"}}, context=ctx)
    records = read_records(tmp_path / "g")
    refine = {r["id"]: r for r in records if r["kind"] == "refine"}
    assert refine["t-s000000-0-0.r1"]["accepted"] and refine["t-s000000-0-0.r1"]["gain"] == 1.0
    assert not refine["t-s000000-0-0.r2"]["accepted"]
    (question,) = [r for r in records if r["kind"] == "question"]
    assert (question["question"], question["depth"], question["S"]) == (first, 1, 4.0)
    assert question["parent_qid"] == "t-s000000-0-0"


async def test_approval_interrupt_keeps_rejected_out(tmp_path, bound_pool):
    ctx = context_for(tmp_path, bound_pool, approval=True, max_depth=0)
    graph = build_graph().compile(checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": "t"}}
    out = await graph.ainvoke({"segment_steps": 0}, config, context=ctx)
    (pending,) = out["__interrupt__"]
    ids = [q["id"] for q in pending.value["questions"]]
    assert len(ids) >= 2
    await graph.ainvoke(Command(resume={"reject": [ids[0]]}), config, context=ctx)
    records = read_records(tmp_path / "g")
    statuses = {r["qid"]: r["status"] for r in records if r["kind"] == "question"}
    assert statuses[ids[0]] == "rejected"
    assert all(statuses[i] == "kept" for i in ids[1:])
    store = open_store(ctx)
    assert not store.bank.collection.get(ids=[ids[0]])["ids"]


async def test_backend_failures_are_recorded_not_raised(tmp_path, bound_pool):
    def broken(messages, params, index):
        raise BackendError("mock outage", retryable=False, status=503)

    register_mock("broken", respond=broken)
    ctx = context_for(tmp_path, bound_pool,
                      explorers=["mock/broken", fakes.register_all()["explorer"]], max_depth=0)
    graph = build_graph().compile(checkpointer=InMemorySaver())
    final = await graph.ainvoke({"segment_steps": 0}, {"configurable": {"thread_id": "t"}},
                                context=ctx)
    assert final["steps_done"] == 1
    records = read_records(tmp_path / "g")
    errors = [r for r in records if r["kind"] == "error"]
    assert len(errors) == 2 and all("mock outage" in e["error"] for e in errors)
    assert any(r["kind"] == "question" for r in records)


async def test_candidate_repeating_a_seed_is_dropped(tmp_path, bound_pool):
    seed_question = "Should voting in national elections be compulsory?"
    register_mock("parrot", respond=lambda m, p, i: "Fact: x" if "Fact:" in m[-1]["content"]
                  else f"Argument: a\nQuestion: {seed_question}")
    ctx = context_for(tmp_path, bound_pool, explorers=["mock/parrot"], questions_per_step=1)
    graph = build_graph().compile(checkpointer=InMemorySaver())
    final = await graph.ainvoke({"segment_steps": 0}, {"configurable": {"thread_id": "t"}},
                                context=ctx)
    records = read_records(tmp_path / "g")
    (drop,) = [r for r in records if r["kind"] == "drop"]
    assert drop["reason"] == "duplicate" and drop["nearest"] > 0.97
    assert final["questions"] == []
    # an empty step: counted, valued at the lowest reward the run observes (none yet)
    assert final["arms"]["t01"] == {"count": 1, "value": 0.0, "empty": 1}
    step = next(r for r in records if r["kind"] == "step")
    assert step["reward"] is None and step["empty"] == 1 and step["scale"] == {}


async def test_exact_score_uses_logliks(tmp_path, bound_pool):
    specs = fakes.register_all()
    register_mock("resp-ll", respond=fakes.respondent, loglik=lambda p, c: -float(len(c)) / 10)
    register_mock("expl-ll", respond=fakes.explorer, loglik=lambda p, c: -float(len(c)) / 9)
    ctx = context_for(tmp_path, bound_pool, explorers=["mock/expl-ll"],
                      respondents=["mock/resp-ll"], score_method="exact",
                      judge_mode="per_value", max_depth=0,
                      questions_per_step=1)
    assert ctx.judge == specs["judge"]
    graph = build_graph().compile(checkpointer=InMemorySaver())
    await graph.ainvoke({"segment_steps": 0}, {"configurable": {"thread_id": "t"}}, context=ctx)
    scores = [r for r in read_records(tmp_path / "g") if r["kind"] == "score"]
    assert scores and all(s["S_parts"]["extra"] == {"method": "exact"} for s in scores)
    assert all(s["S"] is not None for s in scores)


def test_exit_reasons_in_order():
    ctx = AdaemContext(steps=10, max_requests=100, deadline=50.0, steps_per_segment=3)
    assert exit_reason(AdaemState(steps_done=10), ctx, now=0) == "steps"
    assert exit_reason(AdaemState(steps_done=2, requests_made=100), ctx, now=0) == "budget"
    assert exit_reason(AdaemState(steps_done=2), ctx, now=60) == "wall_clock"
    assert exit_reason(AdaemState(steps_done=2, segment_steps=3), ctx, now=0) == "segment"
    assert exit_reason(AdaemState(steps_done=2, segment_steps=2), ctx, now=0) is None
    forever = AdaemContext(steps=None)
    assert exit_reason(AdaemState(steps_done=10**6), forever) is None
    assert recursion_limit(ctx) >= 3 * 11


@pytest.mark.parametrize("params,message", [
    ({"colour": "red"}, r"unknown setting\(s\) \['colour'\]"),
    ({"theory": "big5"}, "adaem: theory: Input should be 'schwartz' or 'mft'"),
    ({"epsilon": 1.5}, "adaem: epsilon: Input should be less than or equal to 1"),
    ({"judge": "x"}, "params.judge is set from the run config"),
    ({"release_every": 0}, "adaem: release_every: Input should be greater than or equal to 1"),
    ({"score_method": "exact", "explorers": ["openai/gpt-4o-mini"]},
     "score_method=exact needs log-likelihoods"),
    ({"prompts": {"SAFETY": "{nope}"}}, "unknown placeholder"),
])
def test_validate_rejects_bad_settings(tmp_path, params, message, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    with pytest.raises(ConfigError, match=message):
        runner.validate(make_cfg(tmp_path, **params))


def test_validate_reports_the_seed_file_line(tmp_path):
    bad = tmp_path / "seeds.jsonl"
    bad.write_text('{"topic": "fine topic", "questions": ["Ok?"]}\n{"topic": "x"}\n')
    with pytest.raises(ConfigError, match=r"seeds\.jsonl:2: topic: String should have at least"):
        runner.validate(make_cfg(tmp_path, seeds=str(bad)))


async def test_runner_waits_for_an_approval_file(tmp_path):
    import asyncio
    import json

    from valuegraph.graphs.adaem.runner import APPROVAL_DECISION, APPROVAL_PENDING

    cfg = make_cfg(tmp_path, steps=1, approval=True, max_depth=0, approval_poll_s=0.05)
    runner.validate(cfg)
    run_dir = RunDir.create(cfg)
    pool = ModelPool(run_dir.cache_dir)
    task = asyncio.ensure_future(runner.run(RunEnv(cfg, run_dir, pool)))
    pending_path = run_dir.root / APPROVAL_PENDING
    for _ in range(1200):
        if pending_path.exists() or task.done():
            break
        await asyncio.sleep(0.05)
    (pending,) = json.loads(pending_path.read_text())
    ids = [q["id"] for q in pending["questions"]]
    assert run_dir.status()["state"] == "awaiting_approval"
    (run_dir.root / APPROVAL_DECISION).write_text(json.dumps({"reject": ids[:1]}))
    summary = await asyncio.wait_for(task, 120)
    pool.close()
    assert summary["done"] and not pending_path.exists()
    checked = check_run(run_dir.root, summary["arms"], 1)
    statuses = {q["qid"]: q["status"] for q in checked["questions"]}
    assert statuses[ids[0]] == "rejected" and summary["kept"] == len(ids) - 1


async def test_tau_is_relative_to_the_spread_of_s(tmp_path, bound_pool, monkeypatch):
    base, first = fakes.question(0), fakes.question(1)
    scores = {base: 3.0, first: 3.3}  # +0.3: below τ = 0.5, above 0.5 · 1.26 / 6.3 = 0.1

    async def scripted(self, question, specs):
        return ScoreOutcome(ScoreParts(scores.get(question, 1.0)))

    monkeypatch.setattr(QuestionScorer, "score", scripted)
    register_mock("one-explorer", respond=lambda m, p, i: "Fact: x"
                  if "Fact:" in m[-1]["content"] else f"Question: {base}")
    register_mock("once-optimizer", respond=lambda m, p, i: "be concrete"
                  if "Suggest how" in m[-1]["content"] else f"Question: {first}")
    graph = build_graph().compile(checkpointer=InMemorySaver())
    observed = {"s_low": 2.0, "s_high": 3.26, "reward_low": 2.5, "reward_high": 3.0}
    for mode, accepted, threshold in (("spread", True, 0.1), ("absolute", False, 0.5)):
        ctx = context_for(tmp_path / mode, bound_pool, explorers=["mock/one-explorer"],
                          questions_per_step=1, optimizer="mock/once-optimizer", max_depth=1,
                          tau_mode=mode)
        final = await graph.ainvoke({"segment_steps": 0, "scale": observed},
                                    {"configurable": {"thread_id": mode}}, context=ctx)
        (refine,) = [r for r in read_records(tmp_path / mode / "g") if r["kind"] == "refine"]
        assert refine["gain"] == pytest.approx(0.3)
        assert refine["threshold"] == pytest.approx(threshold)
        assert refine["accepted"] is accepted
        # the step's S widens the observed range the next step uses
        assert final["scale"]["s_high"] == pytest.approx(3.3 if accepted else 3.26)
        assert final["scale"]["s_low"] == 2.0


async def test_llama_guard_style_safety_classifier(tmp_path, bound_pool):
    """The safety judge as a Llama-Guard-style classifier: the question is its user turn, its
    reply "safe" or "unsafe" plus categories."""
    from valuegraph.graphs.adaem.nodes import parse_guard

    assert parse_guard("safe") == (False, [])
    assert parse_guard("unsafe\nS1,S10") == (True, ["S1", "S10"])
    assert parse_guard("**unsafe** S2") == (True, ["S2"])
    assert parse_guard("I cannot say") == (None, [])
    seen = []

    def guard(messages, params, index):
        seen.append(messages)
        return "unsafe\nS9" if "nurses" in messages[-1]["content"] else "safe"

    register_mock("guard", respond=guard)
    ctx = context_for(tmp_path, bound_pool, safety_judge="mock/guard", safety_mode="llama_guard",
                      max_depth=0, questions_per_step=3)
    graph = build_graph().compile(checkpointer=InMemorySaver())
    await graph.ainvoke({"segment_steps": 0}, {"configurable": {"thread_id": "t"}}, context=ctx)
    records = read_records(tmp_path / "g")
    safety = {r["id"]: r for r in records if r["kind"] == "safety"}
    questions = {r["qid"]: r for r in records if r["kind"] == "question"}
    assert safety and set(safety) == set(questions)
    assert {v["flagged"] for v in safety.values()} == {True, False}
    for vid, verdict in safety.items():
        unsafe = "nurses" in questions[vid]["question"]
        assert verdict["mode"] == "llama_guard" and verdict["flagged"] is unsafe
        assert verdict["categories"] == (["S9"] if unsafe else [])
        assert questions[vid]["status"] == ("flagged" if unsafe else "kept")
    # the classifier saw the bare question as a user turn (its template adds the policy)
    assert all(m == [{"role": "user", "content": m[0]["content"]}] and
               m[0]["content"].endswith("?") for m in seen)


async def test_release_minimum_s_leaves_low_scores_out(tmp_path):
    from valuegraph.graphs.adaem.release import write_release

    cfg = make_cfg(tmp_path, steps=2, max_depth=0)
    _, run_dir, _ = await grow(cfg)
    kept = [r for r in read_records(run_dir.root)
            if r["kind"] == "question" and r["status"] == "kept"]
    scores = sorted(q["S"] for q in kept)
    cut = scores[len(scores) // 2]
    store = open_store(dataclasses.replace(runner.settings(cfg)[1], run_dir=str(run_dir.root)))
    made = write_release(run_dir.root, store.embed, min_score=cut)
    assert made is not None and made.manifest["min_score"] == cut
    assert all(q["S"] >= cut for q in made.questions)
    assert made.manifest["count"] == sum(s >= cut for s in scores)
    assert made.manifest["skipped"]["below_min_score"] == sum(s < cut for s in scores) > 0
