"""The one exit rule every loop uses: rounds, model calls, or no improvement."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LoopLimits:
    """Bounds of one loop.

    Attributes:
        max_rounds: Stop after this many completed rounds.
        max_calls: Stop once the loop has asked for this many model samples (None: no limit).
        patience: Stop after this many rounds in a row without improvement (None: never).
        min_improvement: What counts as an improvement of the tracked score.
    """

    max_rounds: int
    max_calls: int | None = None
    patience: int | None = None
    min_improvement: float = 0.0


def exit_reason(limits: LoopLimits, rounds_done: int, calls_made: int,
                history: list[float]) -> str | None:
    """Why the loop must stop now ("rounds", "budget", "no_improvement"), or None to go on.

    ``history`` holds the tracked score after each round (higher is better); the best score
    before the last ``patience`` rounds must be beaten by more than ``min_improvement`` to
    continue (an equal score is no improvement).
    """
    if rounds_done >= limits.max_rounds:
        return "rounds"
    if limits.max_calls is not None and calls_made >= limits.max_calls:
        return "budget"
    if limits.patience is not None and len(history) > limits.patience:
        best_before = max(history[: -limits.patience])
        recent_best = max(history[-limits.patience:])
        if recent_best <= best_before + limits.min_improvement:
            return "no_improvement"
    return None
