"""The whole IROTE loop on scripted models: rounds, pool, corpus, best set, requests."""

from __future__ import annotations

from langgraph.checkpoint.memory import InMemorySaver

from valuegraph.graphs.irote import graph as g
from valuegraph.graphs.irote.graph import build_graph, recursion_limit

from .conftest import TRAIT, make_context
from .test_nodes import PEAK_5


async def run_loop(ctx, **inputs):
    compiled = build_graph().compile(checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": "t"}, "recursion_limit": recursion_limit(ctx)}
    return await compiled.ainvoke({**TRAIT, **inputs}, config, context=ctx)


async def test_two_rounds_keep_the_best_reflection_with_its_lineage(scripted):
    ctx = make_context(rounds=2, line_orders=1, distractor_turns=[0])
    final = await run_loop(ctx)
    result = final["result"]
    assert result["exit_reason"] == "rounds" and result["rounds"] == 2
    iterations = [s["iteration"] for s in final["pool"]]
    assert iterations == [0, 0, 1, 1, 2, 2]  # 2 seed sets, top_k = 2 survivors per round
    # seed sets never mention "curious" (peak 3: 6.0); every optimised one does (peak 5)
    assert result["round_best"][0] == 6.0
    assert result["round_best"][1:] == [PEAK_5, PEAK_5] == [result["reward"]] * 2
    assert result["iteration"] == 1 and result["lines"][0].startswith("I am curious")
    assert result["lineage"][0] == result["set_id"] and result["lineage"][-1].startswith("r0-")
    kept = [p for p in result["proposals"] if p["kept"]]
    assert [p["id"] for p in kept] == [s["id"] for s in final["pool"][2:]]
    assert len(result["proposals"]) == 6  # 2 optimize + 1 summary per round
    # requests: seed 1 + eval 2 sets x 2 items + per round (4 optimize + 1 summary,
    # compactness |pool| + |new| + 1, eval 2 sets x 2 items)
    assert result["requests"] == final["requests"] == 1 + 4 + (5 + 2 + 3 + 1 + 4) + (
        5 + 4 + 3 + 1 + 4)
    corpus = final["corpus"]
    assert len(corpus) == len(set(corpus)) > 6
    assert corpus.count("I love ideas, e.g.: I read essays rather than scroll") == 1
    assert len(scripted["optimizer"].calls) == 1 + 5 + 5


async def test_a_budget_stops_the_loop_after_the_round_that_spends_it(scripted):
    ctx = make_context(rounds=3, line_orders=1, distractor_turns=[0], max_requests=10)
    result = (await run_loop(ctx))["result"]
    assert result["exit_reason"] == "budget" and result["rounds"] == 1
    assert result["requests"] == 1 + 4 + 15


def test_studio_graph_and_recursion_limit():
    assert set(g.graph.get_graph().nodes) == {"__start__", "seed_corpus", "evaluate", "propose",
                                              "compactness", "__end__"}
    # seed + evaluate + 3 per round must fit
    assert recursion_limit(make_context(rounds=4)) >= 2 + 3 * 4
