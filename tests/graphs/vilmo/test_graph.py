"""The whole VILMO graph on scripted models: the loop until the violation rate stops falling,
the budget, a given first instruction, and the Studio graph's context schema."""

from __future__ import annotations

import pytest
from langgraph.checkpoint.memory import InMemorySaver

from valuegraph.graphs._shared.resources import Resources
from valuegraph.graphs.vilmo.graph import build_graph, graph
from valuegraph.tools.pool import ModelPool

from .conftest import ITEM, make_context


async def run(ctx, **item):
    compiled = build_graph().compile(checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": "t"}, "recursion_limit": 50}
    return await compiled.ainvoke({**ITEM, **item}, config, context=ctx)


async def test_revises_until_the_violation_rate_stops_falling(scripted):
    final = await run(make_context(resources=Resources(ModelPool())))
    result = final["result"]
    # v0: 3 of 4 steal; v1: 1 of 4; v2: 1 of 4 again -> stop (patience 1)
    assert [h["round"] for h in final["history"]] == [0, 1, 2]
    assert result["round_rates"] == pytest.approx([0.75, 0.25, 0.25])
    assert result["exit_reason"] == "no_improvement" and result["rounds"] == 2
    assert result["instruction_round"] == 1
    assert result["instruction"].endswith("(v1).")
    assert [text[-5:] for text in result["lineage"]] == ["(v0).", "(v1).", "(v2)."]
    # 1 instruction + 3 rounds x (1 target request for n=4 + 4 judgements) + 2 revisions
    assert result["requests"] == 1 + 3 * 5 + 2
    assert len(scripted["generator"].calls) == 3 and len(scripted["target"].calls) == 12
    assert result["scores"] == pytest.approx([0.9, 0.2, 0.2, 0.2])
    assert (result["generator"], result["target"], result["judge"]) == (
        "mock/generator", "mock/target", "mock/judge")


async def test_rounds_cap_and_budget(scripted):
    capped = (await run(make_context(rounds=1, patience=None)))["result"]
    assert capped["exit_reason"] == "rounds" and len(capped["lineage"]) == 2
    # the budget is checked after each round: 1 + 5 = 6 requests spent after round 0
    budget = (await run(make_context(max_requests=6)))["result"]
    assert budget["exit_reason"] == "budget" and budget["requests"] == 6
    assert budget["lineage"] == ["Return what is not yours (v0)."]


async def test_a_given_instruction_skips_writing_and_a_clean_round_stops(scripted):
    scripted["target"].respond = lambda m, p, i: f"Sam returns the money ({i})."
    result = (await run(make_context(), instruction="Be fair (v7)."))["result"]
    assert scripted["generator"].calls == []
    assert result["exit_reason"] == "no_violation" and result["violation_rate"] == 0.0
    assert result["instruction"] == "Be fair (v7)." and result["requests"] == 5


def test_studio_graph_describes_every_context_field():
    schema = graph.get_context_jsonschema()
    properties = schema["properties"]
    for name in ("generator", "target", "judge", "rounds", "samples", "threshold", "patience",
                 "placement", "feedback"):
        assert properties[name].get("description"), name
    assert properties["rounds"]["default"] == 3 and properties["threshold"]["default"] == 0.5
    assert "resources" not in properties
