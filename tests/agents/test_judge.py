"""Judge verdicts: logprobs, log-likelihood and vote paths; unparseable is unscored."""

from __future__ import annotations

import math

import pytest

from valuegraph.agents import Judge, Target, parse_yes_no
from valuegraph.tools.backends.mock_backend import register_mock
from valuegraph.tools.pool import ModelPool

Q = [{"role": "user", "content": "Does this text violate the principle? Answer Yes or No."}]


@pytest.mark.parametrize("text,expected", [
    ("Yes.", True), ("no, it does not", False), ("Answer: No", False),
    ("**Answer:** yes", True), ("I cannot say", None), ("Yes and no", None),
    ("The character lies, so yes", True),
])
def test_parse_yes_no(text, expected):
    assert parse_yes_no(text) is expected


async def test_vote_counts_parsed_replies_only():
    register_mock("j", ["Yes", "No", "Yes", "unsure", "yes"])
    judge = Judge(ModelPool(), "mock/j", method="vote", votes=5)
    verdict = await judge.judge(Q)
    assert verdict.score == pytest.approx(3 / 4)
    assert (verdict.label, verdict.parsed, verdict.method) == ("yes", True, "vote")


async def test_all_unparseable_is_unscored_not_zero():
    register_mock("j", ["hmm", "maybe", "who knows"])
    verdict = await Judge(ModelPool(), "mock/j", method="vote", votes=3).judge(Q)
    assert verdict.score is None and verdict.label is None and not verdict.parsed


async def test_loglik_path_gives_softmax_of_yes_no():
    register_mock("ll", loglik=lambda p, c: {"Yes": -1.0, "No": -2.0}[c])
    verdict = await Judge(ModelPool(), "mock/ll").judge(Q)
    assert verdict.method == "loglik"
    assert verdict.score == pytest.approx(1 / (1 + math.exp(-1.0)))


async def test_logprobs_path_against_server(server):
    server.admin(rules=[{"match": "violate", "reply": "No",
                         "logprobs": {"No": math.log(0.7), "Yes": math.log(0.1)}}])
    pool = ModelPool(api_bases={"openai/test": server.api_base}, retry_wait=0.01)
    verdict = await Judge(pool, "openai/test").judge(Q)
    assert verdict.method == "logprobs"
    assert verdict.score == pytest.approx(0.1 / 0.8)
    assert verdict.label == "no"


async def test_logprobs_missing_falls_back_to_vote(server):
    pool = ModelPool(api_bases={"openai/test": server.api_base}, retry_wait=0.01)
    # the first token's alternatives hold neither yes nor no, so the judge votes instead
    server.admin(rules=[{"match": "violate", "replies": ["Well, yes", "No", "Yes"],
                         "logprobs": {"Well,": -0.1}}])
    verdict = await Judge(pool, "openai/test", votes=3).judge(Q)
    assert verdict.method == "vote"
    assert verdict.score == pytest.approx(2 / 3)


async def test_roles_record_usage_under_their_names():
    register_mock("t", ["a story"])
    pool = ModelPool()
    target = Target(pool, "mock/t", sampling={"temperature": 0.3})
    out = await target.ask("system", "continue")
    assert out[0].text == "a story"
    assert pool.usage.role("target").calls == 1
