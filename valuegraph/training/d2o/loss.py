"""The D²O loss as a pure tensor function.

Duan et al., "Negating Negatives: Alignment with Human Negative Samples via Distributional
Dispreference Optimization" (arXiv 2403.03419, Findings of EMNLP 2024), Eq. 3:

    L_D2O = -E_{(x, y_l) ~ D, y_i ~ π_r(.|x)} [ log σ( (β/K) Σ_{i=1..K} ρ_θ(y_i|x; π_r-)
                                                         - α ρ_θ(y_l|x; π_r+) ) ]

with ρ_θ(y|x; π) = log π_θ(y|x) - log π(y|x), log-probabilities summed over completion tokens
(as in DPO; a per-token mean would change the effective β). With K = 1, α = β and
π_r+ = π_r- this is the sigmoid DPO loss with chosen y_1 and rejected y_l.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F


class D2OLossOutput(NamedTuple):
    """Per-example results of :func:`d2o_loss`; every tensor has shape ``(B,)``.

    Attributes:
        losses: ``-log σ(logits)``, to be averaged by the caller.
        logits: The argument of the sigmoid, ``self_rewards - rejected_rewards`` (the margin).
        self_rewards: ``(β/K) Σ_i ρ(y_i; π_r-)``, the distributional reward of the self-samples.
        rejected_rewards: ``α ρ(y_l; π_r+)``, the reward of the negative.
    """

    losses: torch.Tensor
    logits: torch.Tensor
    self_rewards: torch.Tensor
    rejected_rewards: torch.Tensor


def d2o_loss(
    policy_self_logps: torch.Tensor,
    policy_rejected_logps: torch.Tensor,
    ref_self_logps: torch.Tensor,
    ref_rejected_logps: torch.Tensor,
    *,
    alpha: float,
    beta: float,
) -> D2OLossOutput:
    """Computes the D²O loss (Eq. 3) from summed completion log-probabilities.

    Args:
        policy_self_logps: ``log π_θ(y_i|x)`` of the K self-samples, shape ``(B, K)``.
        policy_rejected_logps: ``log π_θ(y_l|x)`` of the negative, shape ``(B,)``.
        ref_self_logps: ``log π_r-(y_i|x)``, shape ``(B, K)``.
        ref_rejected_logps: ``log π_r+(y_l|x)``, shape ``(B,)``.
        alpha: Weight α of the negative's log-ratio.
        beta: Weight β of the self-samples' mean log-ratio.

    Returns:
        The per-example losses, logits and the two reward terms.

    Raises:
        ValueError: If the shapes disagree.
    """
    if policy_self_logps.dim() != 2 or policy_self_logps.shape != ref_self_logps.shape:
        raise ValueError(
            "self-sample log-probs must both have shape (B, K), got "
            f"{tuple(policy_self_logps.shape)} and {tuple(ref_self_logps.shape)}"
        )
    expected = policy_self_logps.shape[:1]
    if policy_rejected_logps.shape != expected or ref_rejected_logps.shape != expected:
        raise ValueError(
            f"negative log-probs must have shape {tuple(expected)}, got "
            f"{tuple(policy_rejected_logps.shape)} and {tuple(ref_rejected_logps.shape)}"
        )
    self_rewards = beta * (policy_self_logps - ref_self_logps).mean(dim=1)
    rejected_rewards = alpha * (policy_rejected_logps - ref_rejected_logps)
    logits = self_rewards - rejected_rewards
    return D2OLossOutput(-F.logsigmoid(logits), logits, self_rewards, rejected_rewards)
