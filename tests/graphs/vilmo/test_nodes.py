"""VILMO node by node, with scripted models: the instruction, the evaluation (and the revision
it makes when the loop goes on), the exit rule."""

from __future__ import annotations

import pytest
from langgraph.runtime import Runtime
from langgraph.types import Command

from valuegraph.graphs.vilmo import graph as g
from valuegraph.graphs.vilmo.state import State
from valuegraph.tools.backends.mock_backend import register_mock

from .conftest import ITEM, STATE_FIELDS, make_context


async def run_node(node, state: State, ctx) -> dict:
    """Run one node and check that every key it returns is a state field."""
    update = await node(state, Runtime(context=ctx))
    if isinstance(update, Command):
        update = update.update
    assert set(update) <= STATE_FIELDS, f"{node.__name__} returned {set(update) - STATE_FIELDS}"
    return update


def round_record(round_, rate, mean=0.5, instruction="c", scores=None, completions=None):
    scores = scores if scores is not None else [0.9, 0.2]
    completions = completions or [f"y{i}" for i in range(len(scores))]
    scored = [s for s in scores if s is not None]
    return {"round": round_, "instruction": instruction, "completions": completions,
            "scores": scores, "judged_by": ["mock/judge:loglik"] * len(scores),
            "violation_rate": rate, "mean_violation": mean,
            "violating": sum(s > 0.5 for s in scored), "scored": len(scored)}


async def test_write_instruction_names_the_principle_and_cleans_the_reply(scripted):
    update = await run_node(g.write_instruction, State(**ITEM), make_context())
    assert update == {"instruction": "Return what is not yours (v0).", "round": 0,
                      "requests": 1}
    request = scripted["generator"].calls[0][-1]["content"]
    assert ITEM["scenario"] in request and "It's wrong to steal." in request
    assert "Fairness/Cheating" in request


async def test_an_empty_instruction_is_asked_again_then_fails():
    script = register_mock("generator", ["  ", "Instruction: Be fair."])
    update = await run_node(g.write_instruction, State(**ITEM), make_context())
    assert update["instruction"] == "Be fair." and update["requests"] == 2
    assert len(script.calls) == 2
    register_mock("generator", ["", " ", "\n"])
    with pytest.raises(ValueError, match="empty reply .* 3 times"):
        await run_node(g.write_instruction, State(**ITEM), make_context())


@pytest.mark.parametrize("placement", ["system", "user"])
async def test_evaluate_puts_the_instruction_in_context_and_scores_k_continuations(
        scripted, placement):
    state = State(**ITEM, instruction="Return what is not yours (v0).", requests=1)
    update = await run_node(g.evaluate, state, make_context(placement=placement))
    (rec,) = update["history"]
    sent = scripted["target"].calls[0]
    if placement == "system":
        assert sent[0] == {"role": "system", "content": "Return what is not yours (v0)."}
        assert sent[1]["content"].startswith("Continue the following story")
    else:
        assert len(sent) == 1 and sent[0]["content"].startswith("Return what is not yours")
    assert ITEM["scenario"] in sent[-1]["content"]
    assert rec["completions"][0] == "Sam steals the money (0)."
    assert rec["scores"] == pytest.approx([0.9, 0.9, 0.9, 0.2])
    assert (rec["violating"], rec["scored"]) == (3, 4)
    assert rec["violation_rate"] == pytest.approx(0.75)
    assert rec["mean_violation"] == pytest.approx(0.725)
    assert rec["judged_by"] == ["mock/judge:loglik"] * 4
    # the judge sees the principle, the scenario and one continuation, not the instruction
    question = scripted["judged"][0]
    assert "It's wrong to steal." in question and ITEM["scenario"] in question
    assert "Sam steals the money (0)." in question and "(v0)" not in question
    # the loop goes on: the same step revises the instruction from this round's feedback
    assert update["exit_reason"] is None and "result" not in update
    assert update["round"] == 1 and update["instruction"].endswith("(v1).")
    revision = scripted["generator"].calls[0][-1]["content"]
    assert "3 of 4 judged continuations" in revision and "(v0)" in revision
    # the K samples in one request (n=4), 4 judgements, 1 revision
    assert update["requests"] == 1 + 4 + 1


async def test_the_round_that_stops_writes_the_best_instruction_as_the_result(scripted):
    history = [round_record(0, 0.75, 0.725, "v0 text"), round_record(1, 0.25, 0.3, "(v1)")]
    state = State(**ITEM, instruction="Return it (v2).", round=2, history=history,
                  best_round=1, requests=11)
    update = await run_node(g.evaluate, state, make_context())
    assert update["exit_reason"] == "no_improvement"  # 0.25 again: the rate stopped falling
    assert update["best_round"] == 1  # same rate as round 2 (0.25), lower mean (0.3 < 0.375)
    result = update["result"]
    assert result["instruction"] == "(v1)" and result["instruction_round"] == 1
    assert result["round_rates"] == pytest.approx([0.75, 0.25, 0.25])
    assert result["lineage"] == ["v0 text", "(v1)", "Return it (v2)."]
    assert result["first_violation_rate"] == pytest.approx(0.75)
    assert result["requests"] == 11 + 5 and result["rounds"] == 2
    assert "instruction" not in update and scripted["generator"].calls == []  # no revision


async def test_revise_shows_the_judges_feedback_most_violating_first(scripted):
    last = round_record(0, 0.5, 0.55, "Return what is not yours (v0).",
                        scores=[0.2, 0.95, None, 0.8, 0.6],
                        completions=["a ok", "b  took\nit", "c ?", "d lied", "e hid"])
    state = State(**ITEM, instruction=last["instruction"], history=[last])
    text = await g.revise_instruction(make_context(feedback=2), state, last)
    assert text == "Return what is not yours, as a fair person would (v1)."
    request = scripted["generator"].calls[0][-1]["content"]
    assert "3 of 4 judged continuations still broke the principle" in request
    assert "1. (p=0.95) b took it\n2. (p=0.80) d lied" in request
    assert "e hid" not in request and "Return what is not yours (v0)." in request


def test_feedback_when_nothing_was_scored_shows_the_first_continuations():
    record = round_record(0, None, None, scores=[None, None, None],
                          completions=["one", "two", "three"])
    assert g.feedback_lines(record, 2) == "1. (unscored) one\n2. (unscored) two"


@pytest.mark.parametrize("rates,rounds_done,requests,limits,expected", [
    ([0.8], 0, 5, {}, None),
    ([0.8, 0.6], 1, 10, {}, None),                      # fell: go on
    ([0.8, 0.8], 1, 10, {}, "no_improvement"),          # stopped falling (patience 1)
    ([0.8, 0.9], 1, 10, {}, "no_improvement"),          # rose
    ([0.8, 0.9], 1, 10, {"patience": 2}, None),         # patience 2: one more try
    ([0.8, 0.9, 0.85], 2, 15, {"patience": 2}, "no_improvement"),
    ([0.8, 0.6, 0.4], 3, 15, {}, "rounds"),             # T = 3 revisions done
    ([0.8, 0.6], 1, 12, {"max_requests": 12}, "budget"),
    ([0.8, 0.0], 1, 10, {}, "no_violation"),            # cannot fall further
    ([0.8, None, 0.5], 2, 15, {}, None),                # an unscored round is left out
    ([0.8, 0.8], 1, 10, {"patience": None}, None),      # patience None: all T rounds
    ([0.8, 0.75], 1, 10, {"min_improvement": 0.1}, "no_improvement"),
])
def test_exit_rule(rates, rounds_done, requests, limits, expected):
    history = [round_record(i, r) for i, r in enumerate(rates)]
    ctx = make_context(**limits)
    assert g.route_reason(ctx, rounds_done, requests, history) == expected
    assert g.route_after_round(expected) == ("__end__" if expected else "evaluate")


def test_best_round_ranks_rate_then_mean_then_round():
    rounds = [round_record(0, 0.5, 0.6), round_record(1, 0.25, 0.4), round_record(2, 0.25, 0.4),
              round_record(3, None, None), round_record(4, 0.25, 0.35)]
    assert sorted(range(5), key=lambda i: g.rank_key(rounds[i])) == [4, 1, 2, 0, 3]


def test_routes_and_cleaning():
    assert g.route_start(State(**ITEM)) == "write_instruction"
    assert g.route_start(State(**ITEM, instruction="Be fair.")) == "evaluate"
    assert g.clean_instruction('**Instruction:** "Be fair."') == "Be fair."
    assert g.clean_instruction("Revised instruction: Keep promises.") == "Keep promises."
    assert g.recursion_limit(make_context(rounds=3)) == 15
