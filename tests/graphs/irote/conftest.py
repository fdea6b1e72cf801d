"""Scripted models for the IROTE tests.

The optimizer writes numbered seed lines (as many as asked), thinks, then writes a two-line
policy about being curious; summaries are about being open. The target's log-likelihood of the
options 1..5 peaks at 5 when its reflection mentions "curious" and at 3 otherwise. The judge's
per-word likelihood of a text is 0.5 when both texts mention "curious", else 0.2.
"""

from __future__ import annotations

import math
import re
from dataclasses import fields

import pytest

from valuegraph.graphs.irote.context import Context
from valuegraph.graphs.irote.state import State
from valuegraph.tools.backends.mock_backend import register_mock

STATE_FIELDS = {f.name for f in fields(State)}
TRAIT = {"theory": "big_five", "dimension": "O"}


def optimizer_reply(messages, params, index):
    text = messages[-1]["content"]
    if "different first-person reflections" in text:
        count = int(re.search(r"Write (\d+) different", text).group(1))
        return "\n".join(f"{n}. I seek novelty {params.seed % 1000}-{n}, e.g.: I try a new cafe "
                         "rather than my usual one" for n in range(1, count + 1))
    if "think step by step" in text:
        return "The policy lacks concrete actions."
    if "Compress them" in text:
        return f"1. I am open to change, e.g.: I move abroad rather than stay ({params.seed % 97})"
    return (f"Policy:\n1. I am curious {params.seed % 1000}, e.g.: I ask questions rather than "
            "nod\n2. I love ideas, e.g.: I read essays rather than scroll")


def target_loglik(prompt, continuation):
    peak = 5 if "curious" in prompt[0]["content"] else 3
    return -abs(peak - int(continuation))


def judge_loglik(prompt, continuation):
    both = "curious" in prompt[0]["content"] and "curious" in continuation
    return len(continuation.split()) * math.log(0.5 if both else 0.2)


@pytest.fixture
def scripted():
    """mock/optimizer, mock/target (log-likelihood) and mock/judge (log-likelihood)."""
    return {
        "optimizer": register_mock("optimizer", respond=optimizer_reply),
        "target": register_mock("target", respond=lambda m, p, i: "4", loglik=target_loglik),
        "judge": register_mock("judge", respond=lambda m, p, i: "7", loglik=judge_loglik),
    }


def make_context(**overrides) -> Context:
    values = {"target": "mock/target", "optimizer": "mock/optimizer", "judge": "mock/judge",
              "rounds": 1, "initial_sets": 2, "set_size": 3, "optimization_beam": 1,
              "k_shot": 2, "summarization_beam": 1, "top_k": 2, "line_orders": 2,
              "distractor_turns": [0, 2], "max_items": 2, "embedder": "hashing"}
    return Context(**{**values, **overrides})
