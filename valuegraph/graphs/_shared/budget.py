"""The one exit rule every loop uses: rounds, model requests, wall clock, or no improvement.

The budget unit everywhere is a model request sent to a backend (each try counts); samples
that the completion cache answers are free and counted apart (``valuegraph.tools.usage``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass


@dataclass(frozen=True)
class LoopLimits:
    """Bounds of one loop.

    Attributes:
        max_rounds: Stop after this many completed rounds (steps); None: no limit.
        max_requests: Stop once the loop has sent this many model requests (None: no limit).
        patience: Stop after this many rounds in a row without improvement (None: never).
        min_improvement: What counts as an improvement of the tracked score.
        deadline: Stop once the wall clock (Unix seconds) passes this; None: never.
    """

    max_rounds: int | None
    max_requests: int | None = None
    patience: int | None = None
    min_improvement: float = 0.0
    deadline: float | None = None


def exit_reason(limits: LoopLimits, rounds_done: int, requests: int,
                history: list[float], now: float | None = None) -> str | None:
    """Why the loop must stop now ("rounds", "budget", "wall_clock", "no_improvement"), or
    None to go on; checked in that order.

    ``history`` holds the tracked score after each round (higher is better); the best score
    before the last ``patience`` rounds must be beaten by more than ``min_improvement`` to
    continue (an equal score is no improvement).
    """
    if limits.max_rounds is not None and rounds_done >= limits.max_rounds:
        return "rounds"
    if limits.max_requests is not None and requests >= limits.max_requests:
        return "budget"
    if limits.deadline is not None and (time.time() if now is None else now) >= limits.deadline:
        return "wall_clock"
    if limits.patience is not None and len(history) > limits.patience:
        best_before = max(history[: -limits.patience])
        recent_best = max(history[-limits.patience:])
        if recent_best <= best_before + limits.min_improvement:
            return "no_improvement"
    return None
