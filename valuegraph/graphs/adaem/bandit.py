"""The UCB bandit over topics (AdAEM Algorithm 1/2), as pure functions.

Arm statistics are ``{"count": C_i, "value": Q_i}`` dicts (plain JSON, so they checkpoint
anywhere). An arm missing from the statistics has never been pulled (``C_i = 0``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence

ArmStats = Mapping[str, float]


def ucb_horizon(steps: int | None, steps_done: int) -> int:
    """The ``T`` inside ``ln T``.

    The paper uses the budget B, not the running count t (spec §6.2), so with a budget the
    exploration bonus does not shrink over the run. A run without a step budget ("forever")
    has no B; it falls back to classic UCB1's running count ``t = steps_done + 1`` (at least 2,
    so the bonus is never zero).
    """
    if steps is not None:
        return max(1, steps)
    return max(2, steps_done + 1)


def ucb_score(stats: ArmStats, horizon: int) -> float:
    """``Q_i + sqrt(2 ln T / C_i)``; infinite for an arm never pulled."""
    count = int(stats.get("count", 0))
    if count == 0:
        return math.inf
    return float(stats["value"]) + math.sqrt(2.0 * math.log(horizon) / count)


def select_arm(arm_ids: Sequence[str], arms: Mapping[str, ArmStats], horizon: int) -> str:
    """Algorithm 1, line 3: the first arm (in ``arm_ids`` order) never pulled, else the arm
    with the highest UCB score; ties go to the earlier arm, so the choice is deterministic."""
    if not arm_ids:
        raise ValueError("the bandit has no arms (no seed topics)")
    best, best_score = arm_ids[0], -math.inf
    for arm in arm_ids:
        stats = arms.get(arm)
        if stats is None or int(stats.get("count", 0)) == 0:
            return arm
        score = ucb_score(stats, horizon)
        if score > best_score:
            best, best_score = arm, score
    return best


def update_arm(stats: ArmStats | None, reward: float) -> dict[str, float]:
    """Algorithm 1, line 12: ``C += 1``; ``Q += (reward - Q) / C`` (running mean of rewards)."""
    count = int(stats.get("count", 0)) if stats else 0
    value = float(stats.get("value", 0.0)) if stats else 0.0
    count += 1
    return {"count": count, "value": value + (reward - value) / count}


def replay(history: Iterable[tuple[str, float]]) -> dict[str, dict[str, float]]:
    """Arm statistics rebuilt from (arm, reward) pairs in step order (audits and tests)."""
    arms: dict[str, dict[str, float]] = {}
    for arm, reward in history:
        arms[arm] = update_arm(arms.get(arm), reward)
    return arms


def step_reward(final_scores: Sequence[float], empty_reward: float) -> float:
    """The reward of one step: the mean final S of the questions it produced (``mean(Ŝ)``).

    The paper does not say what a step that produced nothing (every candidate a near-duplicate
    or a failure) is worth; we give it ``empty_reward`` (0 by default), which steers the bandit
    away from exhausted topics.
    """
    return float(sum(final_scores) / len(final_scores)) if final_scores else float(empty_reward)
