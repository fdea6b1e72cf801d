"""IROTE node by node with scripted models: seeding, reward, proposals, compactness, exit."""

from __future__ import annotations

import math

import pytest
from langgraph.runtime import Runtime
from langgraph.types import Command

from valuegraph.graphs.irote import graph as g
from valuegraph.graphs.irote.state import State
from valuegraph.tools.backends.mock_backend import register_mock
from valuegraph.values import irote_objective as obj

from .conftest import STATE_FIELDS, TRAIT, make_context, target_loglik

LN = math.log
CURIOUS = ["I am curious, e.g.: I ask why rather than nod", "I read widely, e.g.: essays",
           "I travel, e.g.: new towns"]
ROUTINE = ["I like routine, e.g.: the same breakfast", "I stay home, e.g.: every weekend",
           "I keep habits, e.g.: one route"]
# a reflection that mentions "curious" makes the target's options peak at 5, else at 3
PEAK_5 = obj.expected_score(obj.rating_distribution([-4, -3, -2, -1, 0]))
PEAK_3 = 6.0


async def run_node(node, state: State, ctx) -> dict:
    """Run one node and check that every key it returns is a state field."""
    update = await node(state, Runtime(context=ctx))
    goto = None
    if isinstance(update, Command):
        update, goto = update.update, update.goto
    assert set(update) <= STATE_FIELDS, f"{node.__name__} returned {set(update) - STATE_FIELDS}"
    return {**update, "_goto": goto}


def pool_set(set_id, lines, reward, iteration=0, parent=None):
    return {**g.new_set(set_id, iteration, "seed", parent, lines), "reward": reward}


async def test_seed_corpus_asks_for_ten_lines_per_request_and_chunks_them(scripted):
    ctx = make_context(initial_sets=3, set_size=4)
    update = await run_node(g.seed_corpus, State(**TRAIT), ctx)
    prompts = [c[-1]["content"] for c in scripted["optimizer"].calls]
    assert len(prompts) == update["requests"] == 2  # 12 lines: 10 + 2
    assert "Write 10 different" in prompts[0] and "Write 2 different" in prompts[1]
    assert "Openness" in prompts[0] and "at most 50 words" in prompts[0]
    corpus = update["corpus"]
    assert len(corpus) == len(set(corpus)) == 12
    assert [s["lines"] for s in update["pending"]] == [corpus[0:4], corpus[4:8], corpus[8:12]]
    assert [s["id"] for s in update["pending"]] == ["r0-0", "r0-1", "r0-2"]
    assert update["round"] == 0


async def test_given_seed_lines_are_used_and_the_last_set_is_padded(scripted):
    lines = [f"line {n}" for n in range(7)]
    update = await run_node(g.seed_corpus, State(**TRAIT, corpus=lines),
                            make_context(initial_sets=10, set_size=3))
    assert update["requests"] == 0 and update["corpus"] == lines
    first, second, last = (s["lines"] for s in update["pending"])
    assert first == lines[0:3] and second == lines[3:6]
    assert last[0] == "line 6" and len(set(last)) == 3 and set(last[1:]) <= set(lines[:6])
    with pytest.raises(ValueError, match="2 seed line.s., fewer than set_size .3."):
        await g.seed_corpus(State(**TRAIT, corpus=["a", "b"]), Runtime(context=make_context()))


async def test_evaluate_scores_every_item_order_and_handler_by_loglik(scripted):
    seen = []

    def recording(prompt, continuation):
        seen.append(prompt)
        return target_loglik(prompt, continuation)

    register_mock("target", loglik=recording)
    ctx = make_context()
    sets = [g.new_set("r0-0", 0, "seed", None, CURIOUS), g.new_set("r0-1", 0, "seed", None,
                                                                    ROUTINE)]
    update = await run_node(g.evaluate, State(**TRAIT, corpus=CURIOUS + ROUTINE, pending=sets),
                            ctx)
    curious, routine = update["pool"]
    assert curious["reward"] == pytest.approx(PEAK_5) and routine["reward"] == PEAK_3
    assert curious["order_scores"] == pytest.approx([PEAK_5, PEAK_5])
    assert curious["handler_scores"][1] == pytest.approx({"0": PEAK_5, "2": PEAK_5})
    assert set(curious["item_scores"]) == {"0/0", "0/2", "1/0", "1/2"}
    assert curious["item_scores"]["0/2"] == pytest.approx([PEAK_5, PEAK_5])  # 2 items
    assert curious["evocativeness"] == pytest.approx(obj.evocativeness_bound(
        obj.rating_distribution([-4, -3, -2, -1, 0])))
    distinct = sum(len({tuple(o) for o in g.line_orders(s, ctx)}) for s in sets)
    # one request per (order, handler, item), scoring the five options
    assert update["requests"] == len(seen) / 5 == distinct * 2 * 2
    two_turns = next(p for p in seen if len(p) == 5)
    assert [m["role"] for m in two_turns] == ["user", "assistant", "user", "assistant", "user"]
    assert two_turns[0]["content"].startswith("Given the following insights about me:\n1. ")
    assert "A shop sells pens" in two_turns[0]["content"]  # the first distractor question
    assert "I enjoy thinking about abstract ideas." in two_turns[-1]["content"]
    assert update["round_best"] == [pytest.approx(PEAK_5)] and update["_goto"] == "propose"
    assert update["corpus"] == CURIOUS + ROUTINE and update["pending"] == []


async def test_generated_answers_that_do_not_parse_are_unscored_not_zero(scripted):
    register_mock("target", respond=lambda m, p, i: "4" if "curious" in m[0]["content"]
                  else "I cannot say.")
    ctx = make_context(reward_method="generate", line_orders=1, distractor_turns=[0])
    sets = [g.new_set("r0-0", 0, "seed", None, CURIOUS), g.new_set("r0-1", 0, "seed", None,
                                                                    ROUTINE)]
    update = await run_node(g.evaluate, State(**TRAIT, pending=sets), ctx)
    curious, routine = update["pool"]
    assert curious["reward"] == 8.0 and curious["unscored"] == 0
    assert routine["reward"] is None and routine["unscored"] == 2
    assert routine["item_scores"] == {"0/0": [None, None]}
    assert update["requests"] == 4


async def test_the_evaluation_that_stops_writes_the_result(scripted):
    ctx = make_context(rounds=0)
    sets = [g.new_set("r0-0", 0, "seed", None, ROUTINE), g.new_set("r0-1", 0, "seed", None,
                                                                    CURIOUS)]
    update = await run_node(g.evaluate, State(**TRAIT, pending=sets, requests=3), ctx)
    result = update["result"]
    assert update["_goto"] == "__end__" and update["exit_reason"] == "rounds"
    assert result["set_id"] == "r0-1" and result["lines"] == CURIOUS  # no round ran
    assert result["text"].startswith("Given the following insights about me:\n1. I am curious")
    assert result["text"].endswith("strictly align with these insights.")
    assert result["lineage"] == ["r0-1"] and result["requests"] == 3 + update["requests"]
    assert (result["reward_method"], result["probability_method"]) == ("loglik", "loglik")
    assert result["items"] == ["bfi-o-1", "bfi-o-2"] and result["trait_name"] == "Openness"


def test_best_set_prefers_the_optimisation_rounds():
    pool = [pool_set("r0-0", ["a"], 9.0), pool_set("r1-0", ["b"], 5.0, 1),
            pool_set("r1-1", ["c"], None, 1), pool_set("r2-0", ["d"], 7.0, 2, "r1-0")]
    assert g.best_set(pool)["id"] == "r2-0"
    assert g.lineage(pool, pool[3]) == ["r2-0", "r1-0"]
    assert g.best_set(pool[:1])["id"] == "r0-0"


@pytest.mark.parametrize("use_cot,requests", [(True, 5), (False, 3)])
async def test_propose_optimizes_drawn_sets_and_summarizes(scripted, use_cot, requests):
    pool = [pool_set("r0-0", CURIOUS, 8.0), pool_set("r0-1", ROUTINE, 6.0)]
    state = State(**TRAIT, corpus=CURIOUS + ROUTINE, pool=pool)
    update = await run_node(g.propose, state, make_context(use_cot=use_cot))
    calls = scripted["optimizer"].calls
    assert update["requests"] == len(calls) == requests
    candidates = update["pending"]
    assert [c["id"] for c in candidates] == ["r1-0", "r1-1", "r1-2"]
    assert [c["origin"] for c in candidates] == ["optimize", "optimize", "summarize"]
    assert sorted(c["parent"] for c in candidates[:2]) == ["r0-0", "r0-1"]
    assert candidates[0]["lines"][1] == "I love ideas, e.g.: I read essays rather than scroll"
    assert candidates[2]["lines"][0].startswith("I am open to change")
    assert update["round"] == 1 and all(c["iteration"] == 1 for c in candidates)
    optimize = [c for c in calls if "[POLICY]" in c[0]["content"]]
    assert {"[SCORE] 8.00" in c[0]["content"] for c in optimize} == {True, False}
    if use_cot:
        follow = [c for c in calls if len(c) == 3]
        assert len(follow) == 2
        assert follow[0][1] == {"role": "assistant",
                                "content": "The policy lacks concrete actions."}
        assert follow[0][2]["content"].startswith("Now write the improved policy")


async def test_propose_drops_empty_replies_and_sets_already_in_the_pool(scripted):
    register_mock("optimizer", respond=lambda m, p, i: "" if "Compress" in m[-1]["content"]
                  else "1. I am curious, e.g.: I ask why rather than nod\n2. I read widely, "
                       "e.g.: essays\n3. I travel, e.g.: new towns")
    pool = [pool_set("r0-0", CURIOUS, 8.0), pool_set("r0-1", ROUTINE, 6.0)]
    update = await run_node(g.propose, State(**TRAIT, corpus=CURIOUS, pool=pool),
                            make_context(use_cot=False))
    assert update["pending"] == [] and update["requests"] == 3


async def test_compactness_by_loglik_keeps_the_top_k(scripted):
    pool = [pool_set("r0-0", CURIOUS, 8.0), pool_set("r0-1", ROUTINE, 6.0)]
    new = [g.new_set("r1-0", 1, "optimize", "r0-0", ["I am curious, e.g.: I ask"]),
           g.new_set("r1-1", 1, "summarize", None, ["I like naps, e.g.: daily"])]
    state = State(**TRAIT, corpus=CURIOUS + ROUTINE, pool=pool, pending=new, round=1)
    update = await run_node(g.compactness, state, make_context(top_k=1))
    assert update["requests"] == 2 + 2 + 1  # one request per condition: pool, new, corpus
    # p = 0.5 per word when both texts mention "curious", else 0.2 (E mentions it)
    # curious: .5 ln .5 + .2 ln .2 - .5 (ln .5 - ln .2) = -1.126607
    # naps:    .2 ln .2 + .2 ln .2 - .2 (ln .2 - ln .5) = -0.460517
    by_id = {p["id"]: p for p in update["proposals"]}
    assert by_id["r1-0"]["compactness"] == pytest.approx(-1.126607, abs=1e-6)
    assert by_id["r1-1"]["compactness"] == pytest.approx(-0.460517, abs=1e-6)
    assert by_id["r1-0"]["term2"] == pytest.approx(0.5 * LN(2.5))
    assert [p["kept"] for p in update["proposals"]] == [False, True]
    assert [c["id"] for c in update["pending"]] == ["r1-1"]


async def test_compactness_by_ratings_asks_six_prompts_per_pair(scripted):
    pool = [pool_set("r0-0", CURIOUS, 8.0), pool_set("r0-1", ROUTINE, 6.0)]
    new = [g.new_set("r1-0", 1, "optimize", "r0-0", ["I ask, e.g.: why"]),
           g.new_set("r1-1", 1, "summarize", None, ["I nap, e.g.: daily"])]
    state = State(**TRAIT, corpus=CURIOUS, pool=pool, pending=new, round=1)
    update = await run_node(g.compactness, state, make_context(
        top_k=1, probability_method="rating", compactness_pool=1))
    calls = scripted["judge"].calls
    # pairs: 2 new x 1 pool (best by reward) x 2 directions + 2 new x (E|e, e|E) = 8; x 6
    assert update["requests"] == len(calls) == 6 * 8
    prompts = {c[-1]["content"] for c in calls}
    assert any(p.startswith("Text B:") for p in prompts) and any(
        p.startswith("Text A:") for p in prompts)
    assert not any("I like routine" in p for p in prompts)  # capped to the best pool set
    # every rating is 7: p = 0.7 everywhere, equal scores, the tie goes to the first
    assert [p["compactness"] for p in update["proposals"]] == pytest.approx(
        [0.7 * LN(0.7)] * 2)
    assert [c["id"] for c in update["pending"]] == ["r1-0"]


async def test_compactness_without_candidates_sends_nothing(scripted):
    update = await run_node(g.compactness, State(**TRAIT, pool=[pool_set("r0-0", CURIOUS, 1.0)]),
                            make_context())
    assert update == {"pending": [], "_goto": None} and scripted["judge"].calls == []
