"""Reference-free preference losses used for honesty alignment, as pure tensor functions.

Both take length-normalised completion log-probabilities ``ℓ̄(y) = (1/|y|) log π_θ(y|x)``.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F


class PreferenceLossOutput(NamedTuple):
    """Per-example results; every tensor has shape ``(B,)``.

    Attributes:
        losses: Per-example loss, to be averaged by the caller.
        chosen_rewards: The chosen side's reward term (method-specific, detached for logging).
        rejected_rewards: The rejected side's reward term.
    """

    losses: torch.Tensor
    chosen_rewards: torch.Tensor
    rejected_rewards: torch.Tensor


def simpo_loss(
    chosen_mean_logps: torch.Tensor,
    rejected_mean_logps: torch.Tensor,
    *,
    beta: float,
    gamma: float,
) -> PreferenceLossOutput:
    """SimPO (Meng et al., arXiv 2405.14734), Eq. 6.

        L = -log σ( β ℓ̄(y_w) - β ℓ̄(y_l) - γ )

    Args:
        chosen_mean_logps: ``ℓ̄(y_w)``, shape ``(B,)``.
        rejected_mean_logps: ``ℓ̄(y_l)``, shape ``(B,)``.
        beta: Reward scale β.
        gamma: Target reward margin γ (inside the sigmoid, not divided by β).
    """
    chosen_rewards = beta * chosen_mean_logps
    rejected_rewards = beta * rejected_mean_logps
    losses = -F.logsigmoid(chosen_rewards - rejected_rewards - gamma)
    return PreferenceLossOutput(losses, chosen_rewards.detach(), rejected_rewards.detach())


def _log_odds(mean_logps: torch.Tensor) -> torch.Tensor:
    """``log(p / (1 - p))`` with ``p = exp(ℓ̄)``; ``ℓ̄ < 0`` is clamped away from 0 for stability."""
    mean_logps = mean_logps.clamp(max=-1e-6)
    return mean_logps - torch.log(-torch.expm1(mean_logps))


def orpo_loss(
    chosen_mean_logps: torch.Tensor,
    rejected_mean_logps: torch.Tensor,
    *,
    lam: float,
) -> PreferenceLossOutput:
    """ORPO (Hong et al., arXiv 2403.07691), Eqs. 6-7.

        L = L_SFT + λ · L_OR,   L_OR = -log σ( log odds_θ(y_w|x) - log odds_θ(y_l|x) ),
        odds_θ(y|x) = P_θ(y|x) / (1 - P_θ(y|x)),   P_θ(y|x) = exp ℓ̄(y)

    ``L_SFT`` is taken per example as the mean token negative log-likelihood of ``y_w``, -ℓ̄(y_w).

    Args:
        chosen_mean_logps: ``ℓ̄(y_w)``, shape ``(B,)``.
        rejected_mean_logps: ``ℓ̄(y_l)``, shape ``(B,)``.
        lam: Weight λ of the odds-ratio term.

    Returns:
        Per-example losses and the two log-odds (as the reward terms).
    """
    chosen_log_odds = _log_odds(chosen_mean_logps)
    rejected_log_odds = _log_odds(rejected_mean_logps)
    odds_ratio_loss = -F.logsigmoid(chosen_log_odds - rejected_log_odds)
    losses = -chosen_mean_logps + lam * odds_ratio_loss
    return PreferenceLossOutput(losses, chosen_log_odds.detach(), rejected_log_odds.detach())
