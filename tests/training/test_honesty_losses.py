"""SimPO and ORPO losses on hand-made tensors: values and gradient signs."""

from __future__ import annotations

import math

import pytest
import torch

from valuegraph.training.honesty.losses import orpo_loss, simpo_loss


def _softplus(x: float) -> float:
    return math.log1p(math.exp(x))


def test_simpo_values():
    out = simpo_loss(torch.tensor([-1.0, -2.0]), torch.tensor([-1.5, -1.0]), beta=2.0, gamma=0.5)
    # logits: 2(-1 + 1.5) - 0.5 = 0.5 and 2(-2 + 1) - 0.5 = -2.5; loss = softplus(-logits).
    assert out.losses.tolist() == pytest.approx([_softplus(-0.5), _softplus(2.5)])
    assert out.chosen_rewards.tolist() == pytest.approx([-2.0, -4.0])
    assert out.rejected_rewards.tolist() == pytest.approx([-3.0, -2.0])


def test_simpo_gradient_signs():
    chosen = torch.tensor([-1.0], requires_grad=True)
    rejected = torch.tensor([-1.2], requires_grad=True)
    simpo_loss(chosen, rejected, beta=2.0, gamma=0.5).losses.sum().backward()
    assert chosen.grad.item() < 0 < rejected.grad.item()


def test_orpo_values():
    chosen, rejected = math.log(0.5), math.log(0.2)
    out = orpo_loss(torch.tensor([chosen]), torch.tensor([rejected]), lam=0.1)
    log_odds_w, log_odds_l = math.log(0.5 / 0.5), math.log(0.2 / 0.8)
    expected = -chosen + 0.1 * _softplus(-(log_odds_w - log_odds_l))
    assert out.losses.item() == pytest.approx(expected, rel=1e-6)
    assert out.chosen_rewards.item() == pytest.approx(log_odds_w, abs=1e-6)
    assert out.rejected_rewards.item() == pytest.approx(log_odds_l, rel=1e-6)


def test_orpo_gradient_signs_and_stability_near_probability_one():
    chosen = torch.tensor([-0.3, -1e-9], requires_grad=True)
    rejected = torch.tensor([-0.5, -2.0], requires_grad=True)
    out = orpo_loss(chosen, rejected, lam=0.1)
    assert torch.isfinite(out.losses).all()
    out.losses.sum().backward()
    assert chosen.grad[0].item() < 0 < rejected.grad[0].item()
