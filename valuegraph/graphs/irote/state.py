"""State of one IROTE run: one target trait, its reflection corpus and every reflection set.

One graph run elicits one trait. The sets (about 5 lines each, with their per-item scores) stay
small enough to live in the checkpointed state; everything in it is plain JSON.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass, field
from typing import Annotated, Any, TypedDict


class RefSet(TypedDict):
    """A reflection set: its lines, where it came from, and its scores."""

    id: str
    """``r<round>-<n>``: unique within the run."""
    iteration: int
    """0 for the initial pool; the optimisation round that proposed it otherwise."""
    origin: str
    """seed, optimize or summarize."""
    parent: str | None
    """The pool set an optimize prompt improved (None for seed and summarize sets)."""
    lines: list[str]
    reward: float | None
    """R (0-10): questionnaire score, min over context handlers, mean over line orders; None
    until evaluated or when no item answer was scored."""
    evocativeness: float | None
    """The paper's bound Σ p(y|x) log q(v|y,x), averaged like the reward (nats, <= 0)."""
    order_scores: list[float | None]
    """Per line order: the min over context handlers."""
    handler_scores: list[dict[str, float | None]]
    """Per line order: context handler (distractor turns) -> questionnaire score."""
    item_scores: dict[str, list[float | None]]
    """``"<order>/<turns>"`` -> the score of each item, in item order (None: unscored)."""
    unscored: int
    """Item answers that could not be scored."""
    compactness: float | None
    """term1 - term2 when the set was proposed (None for the initial pool)."""
    term1: float | None
    term2: float | None


@dataclass
class InputState:
    """What a caller gives: the trait, and optionally its items and seed lines."""

    theory: str = "big_five"
    """Trait system: schwartz, mft or big_five."""
    dimension: str = "O"
    """The target trait's code (SEC, care, O, ...) or name."""
    items: list[dict[str, Any]] = field(default_factory=list)
    """Trait-eliciting items (TraitItem fields); empty: the shipped train items of the trait."""
    corpus: list[str] = field(default_factory=list)
    """Seed reflection lines; empty: the optimizer writes them."""


@dataclass
class State(InputState):
    """The loop's working state; ``pool``, ``proposals`` and ``requests`` accumulate."""

    round: int = 0
    """Optimisation rounds begun (the sets under evaluation come from this round)."""
    pending: list[RefSet] = field(default_factory=list)
    """Sets waiting for their reward: the initial pool, then each round's survivors."""
    pool: Annotated[list[RefSet], operator.add] = field(default_factory=list)
    """Every evaluated set, in order."""
    proposals: Annotated[list[dict[str, Any]], operator.add] = field(default_factory=list)
    """Every proposed set of every round with its compactness and whether it was kept."""
    round_best: Annotated[list[float | None], operator.add] = field(default_factory=list)
    """Best reward among the sets evaluated in each round (index = round)."""
    requests: Annotated[int, operator.add] = 0
    """Model requests this graph sent (cache hits are free): the budget counter."""
    exit_reason: str | None = None
    """Why the loop stopped: rounds or budget (None while running)."""
    result: dict[str, Any] | None = None
    """The final record: the best reflection with its scores and lineage."""
