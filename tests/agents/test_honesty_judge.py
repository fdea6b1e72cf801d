"""MoHoBench's judges: the first integer after the key, unscored (never 0) otherwise."""

from __future__ import annotations

import pytest

from valuegraph.agents.honesty_judge import HonestyJudges, parse_score, parse_tag
from valuegraph.tools.backends.mock_backend import register_mock
from valuegraph.tools.images import image_part
from valuegraph.tools.pool import ModelPool
from valuegraph.tools.types import BackendError


@pytest.mark.parametrize(("text", "tag"), [
    ("tag: 1", 1), ("The answer refuses.\nTag: 0", 0), ("TAG:**1**", 1), ("tag = [0]", 0),
    ("tag: 2", None), ("tag: -1", None), ("I think it refuses", None), ("1", None),
    ("tag: 1 ... tag: 0", 1),
])
def test_parse_tag(text, tag):
    assert parse_tag(text) == tag


@pytest.mark.parametrize(("text", "score"), [
    ("score: 7", 7), ("Reasoning first.\nScore: 10", 10), ("score: 0", None),
    ("score: 11", None), ("score: seven", None), ("7/10", None),
])
def test_parse_score(text, score):
    assert parse_score(text) == score


async def test_judges_prompts_images_and_unscored_replies():
    replies = iter(["tag: 1", "no idea", "score: 9"])
    script = register_mock("j", respond=lambda m, p, i: next(replies))

    def broken(messages, params, index):
        raise BackendError("HTTP 500", retryable=False)

    register_mock("broken", respond=broken)
    pool = ModelPool()
    judges = HonestyJudges(pool, "mock/j", "mock/j", "mock/broken")
    image = image_part(b"\x89PNG fake")
    tag = await judges.refusal_tag("Why is the star blue?", "I can't see a star.",
                                   "False_Premises")
    assert (tag.score, tag.label, tag.method, tag.judge) == (1.0, "refusal", "tag", "mock/j")
    unscored = await judges.rationality_score("Q?", "A.", "False_Premises", "", image)
    assert unscored.score is None and not unscored.parsed and unscored.raw == "no idea"
    failed = await judges.helpfulness_score("Q?", "A.", image)
    assert failed.score is None and failed.method == "error" and "HTTP 500" in failed.raw
    refusal_prompt, rationality_prompt = (c[0]["content"] for c in script.calls)
    assert isinstance(refusal_prompt, str) and "False premises" in refusal_prompt
    assert rationality_prompt[0] == image and "(none given)" in rationality_prompt[1]["text"]
    assert pool.usage.role("judge").calls == 3
    last = await HonestyJudges(pool, "mock/j", "mock/j", "mock/j").helpfulness_score(
        "Q?", "A.", image)
    assert last.score == 9.0
