"""The UCB bandit over topics (AdAEM Algorithm 1/2), as pure functions.

Arm statistics are ``{"count": C_i, "value": Q_i}`` dicts, plus ``"empty": E_i`` once an arm
had a step that produced no question (plain JSON, so they checkpoint anywhere). An arm missing
from the statistics has never been pulled (``C_i = 0``).

Scale [R]. The paper's S lies in about 3-9.3 (mean 6.99); ours, with R_VC read as a [0, 1]
conformity (``values.informativeness.value_conformity``), in a few units around 0-3. UCB's
bonus ``sqrt(2 ln B / C_i)`` assumes rewards in [0, 1], so by default the arm values are
normalised to [0, 1] with the lowest and highest step rewards observed so far in the run
(:func:`normalise`) before the bonus is added; ``reward_scale="raw"`` adds it to S itself, as
printed. A step that produced no question is worth the *lowest observed* step reward (it
counts in ``E_i`` and is valued at the current low whenever the arm is scored), not 0, which
can sit above every S on a scale where S is negative.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence

ArmStats = Mapping[str, float]
Scale = Mapping[str, float]
"""Run-wide observations: ``reward_low`` / ``reward_high`` (step rewards) and ``s_low`` /
``s_high`` (final S of single questions); a key is absent until observed."""
PAPER_S_SPREAD = 9.3 - 3.0
"""The range of S the paper observed (spec §3.3), against which Table 6's τ = 0.5 was set."""


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


def arm_value(stats: ArmStats, low: float | None) -> float | None:
    """``Q_i`` with each empty step valued at ``low`` (the lowest observed step reward); None
    when the arm has only empty steps and nothing was observed yet."""
    count = int(stats.get("count", 0))
    empty = int(stats.get("empty", 0))
    scored = count - empty
    if count == 0:
        return None
    if empty == 0:
        return float(stats["value"])
    if low is None:
        return float(stats["value"]) if scored else None
    return (float(stats.get("value", 0.0)) * scored + low * empty) / count


def normalise(value: float | None, scale: Scale | None) -> float:
    """An arm value mapped to [0, 1] by the observed step-reward range. Unknown values (an
    arm with only empty steps) are the lowest, 0; with one observed reward level all are 0."""
    if value is None:
        return 0.0
    low, high = (scale or {}).get("reward_low"), (scale or {}).get("reward_high")
    if low is None or high is None or high <= low:
        return 0.0
    return min(1.0, max(0.0, (value - low) / (high - low)))


def ucb_score(stats: ArmStats, horizon: int, scale: Scale | None = None,
              normalised: bool = False) -> float:
    """``Q_i + sqrt(2 ln T / C_i)``; infinite for an arm never pulled. ``normalised`` maps
    ``Q_i`` to [0, 1] first (:func:`normalise`)."""
    count = int(stats.get("count", 0))
    if count == 0:
        return math.inf
    value = arm_value(stats, (scale or {}).get("reward_low"))
    q = normalise(value, scale) if normalised else (value if value is not None else 0.0)
    return q + math.sqrt(2.0 * math.log(horizon) / count)


def select_arm(arm_ids: Sequence[str], arms: Mapping[str, ArmStats], horizon: int,
               scale: Scale | None = None, normalised: bool = False) -> str:
    """Algorithm 1, line 3: the first arm (in ``arm_ids`` order) never pulled, else the arm
    with the highest UCB score; ties go to the earlier arm, so the choice is deterministic."""
    if not arm_ids:
        raise ValueError("the bandit has no arms (no seed topics)")
    best, best_score = arm_ids[0], -math.inf
    for arm in arm_ids:
        stats = arms.get(arm)
        if stats is None or int(stats.get("count", 0)) == 0:
            return arm
        score = ucb_score(stats, horizon, scale, normalised)
        if score > best_score:
            best, best_score = arm, score
    return best


def update_arm(stats: ArmStats | None, reward: float | None) -> dict[str, float]:
    """Algorithm 1, line 12: ``C += 1``; ``Q += (reward - Q) / C`` over the steps that had a
    reward (running mean). ``reward=None`` is an empty step: ``C`` and ``E`` grow, ``Q`` keeps
    the mean of the others (the empty step is valued at the run's lowest reward when the arm
    is scored, :func:`arm_value`)."""
    count = int(stats.get("count", 0)) if stats else 0
    value = float(stats.get("value", 0.0)) if stats else 0.0
    empty = int(stats.get("empty", 0)) if stats else 0
    count += 1
    if reward is None:
        empty += 1
    else:
        value += (reward - value) / (count - empty)
    out: dict[str, float] = {"count": count, "value": value}
    if empty:
        out["empty"] = empty
    return out


def update_scale(scale: Scale | None, reward: float | None,
                 scores: Sequence[float]) -> dict[str, float]:
    """The run's observed ranges after a step (its reward and its questions' final S)."""
    out = dict(scale or {})
    if reward is not None:
        out["reward_low"] = min(out.get("reward_low", reward), reward)
        out["reward_high"] = max(out.get("reward_high", reward), reward)
    for s in scores:
        out["s_low"] = min(out.get("s_low", s), s)
        out["s_high"] = max(out.get("s_high", s), s)
    return out


def replay(history: Iterable[tuple[str, float | None]]) -> dict[str, dict[str, float]]:
    """Arm statistics rebuilt from (arm, reward) pairs in step order (audits and tests)."""
    arms: dict[str, dict[str, float]] = {}
    for arm, reward in history:
        arms[arm] = update_arm(arms.get(arm), reward)
    return arms


def step_reward(final_scores: Sequence[float], empty_reward: float | None) -> float | None:
    """The reward of one step: the mean final S of the questions it produced (``mean(Ŝ)``).

    The paper does not say what a step that produced nothing (every candidate a near-duplicate
    or a failure) is worth. ``empty_reward=None`` (the default of the loop) returns None: the
    step is valued at the lowest step reward observed in the run (:func:`arm_value`); a number
    gives it that fixed reward.
    """
    if final_scores:
        return float(sum(final_scores) / len(final_scores))
    return None if empty_reward is None else float(empty_reward)


def refine_threshold(tau: float, mode: str, scale: Scale | None) -> float:
    """The ΔS a refinement must beat. ``"absolute"``: τ as given (Table 6's 0.5, on the
    paper's scale of S). ``"spread"``: τ relative to S's spread, ``τ · (s_high − s_low) /
    6.3`` with 6.3 the paper's observed range (3-9.3), so τ = 0.5 asks the same share of the
    spread (8%) on any scale; until two different final S were observed, τ as given."""
    if mode == "absolute":
        return tau
    if mode != "spread":
        raise ValueError(f"tau_mode must be 'spread' or 'absolute', got {mode!r}")
    low, high = (scale or {}).get("s_low"), (scale or {}).get("s_high")
    if low is None or high is None or high <= low:
        return tau
    return tau * (high - low) / PAPER_S_SPREAD
