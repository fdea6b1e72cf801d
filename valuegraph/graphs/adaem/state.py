"""State of the AdAEM loop: arm statistics, run counters, and the ids of the current step.

Questions never live here. Every candidate, score and kept question is appended (fsynced) to
``results.jsonl`` and kept questions are added to the item bank *before* a node returns the ids
that refer to them, so a checkpoint can only point at records that are on disk.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass, field
from typing import Annotated


def merge_arms(current: dict[str, dict[str, float]],
               update: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
    """Arm statistics are replaced per arm: an update carries the arm's new (C, Q)."""
    return {**current, **update}


@dataclass
class AdaemState:
    """One segment of a growth run (the runner chains segments, carrying the totals)."""

    arms: Annotated[dict[str, dict[str, float]], merge_arms] = field(default_factory=dict)
    """Topic id -> {"count": C_i, "value": Q_i}; a topic absent here was never pulled."""
    steps_done: Annotated[int, operator.add] = 0
    """Bandit steps completed over the whole run (b)."""
    requests_made: Annotated[int, operator.add] = 0
    """Model requests sent over the whole run (the budget unit; cache hits are free)."""
    kept_total: Annotated[int, operator.add] = 0
    """Questions kept (not flagged, not rejected) over the whole run."""
    score_total: Annotated[float, operator.add] = 0.0
    """Sum of the final S of the kept questions (mean S = score_total / kept_total)."""
    scale: dict[str, float] = field(default_factory=dict)
    """Observed ranges over the run: ``reward_low``/``reward_high`` (step rewards, for the UCB
    normalisation and empty steps), ``s_low``/``s_high`` (final S, for τ's spread)."""
    segment_steps: int = 0
    """Steps completed in this segment (a segment ends after ``steps_per_segment``)."""
    step: int = -1
    """Index of the step in progress (= steps_done when it was selected)."""
    arm: str = ""
    """Topic id chosen for the step in progress."""
    candidates: list[str] = field(default_factory=list)
    """Version ids of the step's live candidates (the best accepted version of each)."""
    refining: list[str] = field(default_factory=list)
    """Version ids among ``candidates`` whose refinement goes on."""
    finalists: list[str] = field(default_factory=list)
    """Version ids scored with P2 in this step."""
    questions: list[str] = field(default_factory=list)
    """Question ids recorded by this step (kept, flagged or rejected)."""
