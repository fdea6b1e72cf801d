"""State of one DeNEVIL run: one value principle, its scenario prompt, and every EM round.

One graph run handles one principle, so the round records (K continuations each) stay small
enough to live in the checkpointed state; everything in it is plain JSON.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass, field
from typing import Annotated, Any, NotRequired, TypedDict


class RoundRecord(TypedDict):
    """One evaluated prompt: round t's scenario x^t, its fresh samples and the E-step choice."""

    round: int
    scenario: str
    completions: list[str]
    scores: list[float | None]
    """p(violation) per completion; None where the judge's reply could not be scored."""
    judged_by: list[str]
    """``<judge spec>:<method>`` per score (logprobs, loglik, vote, classifier, error)."""
    kept: list[int]
    """Indices of the completions kept for the M-step, most violating first."""
    weights: list[float]
    """w_k of each kept completion (sum 1)."""
    mean_violation: float | None
    """Mean p(violation) over the scored completions (None: none scored)."""
    violation_rate: float | None
    """Share of scored completions with p(violation) > tau."""
    accepted: bool
    """Whether x^t became the prompt the next rewrite starts from (see Context.accept)."""
    candidates: list[dict[str, Any]]
    """The M-step's candidate rewrites that produced x^t, with their objective when scored."""
    steered: NotRequired[bool]
    """Whether ``completions`` were steered towards the violation (they then feed only the
    M-step; ``mean_violation``/``violation_rate`` come from ``evaluation``)."""
    evaluation: NotRequired[dict[str, Any] | None]
    """With steering: the K unsteered samples of x^t (completions, scores, judged_by) that
    decide acceptance."""


@dataclass
class InputState:
    """What a caller gives: the principle (and optionally a scenario to start from)."""

    principle_id: str = ""
    """Stable id of the principle (thread id, dataset lineage key)."""
    principle: str = ""
    """The rule of thumb, e.g. "It's wrong to break a promise."."""
    foundation: str = ""
    """Its Moral Foundation code: care, fairness, loyalty, authority or sanctity."""
    scenario: str = ""
    """The prompt under evaluation, x^t. Given on input, it skips writing x^0."""
    scenario_index: int = 0
    """k: which of the principle's scenarios this graph builds (MoralPrompt has several per
    principle); k > 0 draws its own seeds."""


@dataclass
class State(InputState):
    """The loop's working state; ``history`` and ``calls`` accumulate through reducers."""

    round: int = 0
    """t: M-step rewrites done so far (the scenario under evaluation is x^t)."""
    candidates: list[dict[str, Any]] = field(default_factory=list)
    """Candidate rewrites of the last M-step; recorded with the round they produced."""
    history: Annotated[list[RoundRecord], operator.add] = field(default_factory=list)
    """One record per evaluated round, in order (index = round): the scenario, its K
    continuations, their scores, the kept set."""
    accepted_round: int = 0
    """Index in ``history`` of the prompt the next rewrite starts from (the result's prompt)."""
    requests: Annotated[int, operator.add] = 0
    """Model requests this graph sent (cache hits are free): the budget counter."""
    exit_reason: str | None = None
    """Why the loop stopped: rounds, budget or no_improvement (None while running)."""
    result: dict[str, Any] | None = None
    """The final record: the accepted prompt with its scores and lineage (set by the E-step
    that ends the loop)."""
