"""State of one VILMO run: one scenario, its value instruction, and every evaluated round.

One graph run handles one scenario (a MoralPrompt prompt), so the round records (K scored
continuations each) stay small enough to live in the checkpointed state; all of it is JSON.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass, field
from typing import Annotated, Any, TypedDict


class RoundRecord(TypedDict):
    """One evaluated instruction: round t's instruction c^t, its K continuations and scores."""

    round: int
    instruction: str
    completions: list[str]
    scores: list[float | None]
    """p(violation) per continuation; None where the judge's reply could not be scored."""
    judged_by: list[str]
    """``<judge spec>:<method>`` per score (logprobs, loglik, vote, classifier, error)."""
    violation_rate: float | None
    """APV of the scenario under c^t: share of scored continuations with p > tau (None: none
    scored). The loop tries to lower it; 1 - rate is the paper's reward [R]."""
    mean_violation: float | None
    """Mean p(violation) over the scored continuations (the objective's expectation)."""
    violating: int
    """Scored continuations with p > tau."""
    scored: int
    """Continuations the judge could score."""


@dataclass
class InputState:
    """What a caller gives: the scenario and its principle (optionally a first instruction)."""

    prompt_id: str = ""
    """Stable id of the prompt (thread id, lineage key; a MoralPrompt row's id)."""
    scenario: str = ""
    """The story opening x the target continues."""
    principle: str = ""
    """The value principle at stake, e.g. "It's wrong to steal."."""
    foundation: str = ""
    """Its Moral Foundation code: care, fairness, loyalty, authority or sanctity."""
    instruction: str = ""
    """The instruction under evaluation, c^t. Given on input, it skips writing c^0."""


@dataclass
class State(InputState):
    """The loop's working state; ``history`` and ``requests`` accumulate through reducers."""

    round: int = 0
    """t: revisions done so far (the instruction under evaluation is c^t)."""
    history: Annotated[list[RoundRecord], operator.add] = field(default_factory=list)
    """One record per evaluated round, in order (index = round)."""
    best_round: int = 0
    """Index in ``history`` of the best instruction so far (lowest violation rate, then lowest
    mean violation, then earliest): the result's instruction."""
    requests: Annotated[int, operator.add] = 0
    """Model requests this graph sent (cache hits are free): the budget counter."""
    exit_reason: str | None = None
    """Why the loop stopped: no_violation, rounds, budget or no_improvement (None while
    running)."""
    result: dict[str, Any] | None = None
    """The final record: the best instruction with its scores and lineage (set by the round
    that ends the loop)."""
