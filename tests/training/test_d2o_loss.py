"""The D²O loss on hand-made tensors: values, gradient signs, and the K = 1 DPO special case."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from valuegraph.training.d2o.loss import d2o_loss


def _logsigmoid(x: float) -> float:
    return -math.log1p(math.exp(-x))


def test_values_match_eq3_by_hand():
    policy_self = torch.tensor([[-10.0, -12.0, -8.0], [-5.0, -5.0, -5.0]])
    ref_self = torch.tensor([[-11.0, -11.0, -11.0], [-6.0, -4.0, -5.0]])
    policy_rejected = torch.tensor([-20.0, -3.0])
    ref_rejected = torch.tensor([-18.0, -4.0])
    out = d2o_loss(policy_self, policy_rejected, ref_self, ref_rejected, alpha=0.5, beta=0.3)
    # Example 0: mean self log-ratio (1 - 1 + 3) / 3 = 1; negative log-ratio -2.
    # logits = 0.3 * 1 - 0.5 * (-2) = 1.3.  Example 1: (1 - 1 + 0)/3 = 0; 1 -> logits = -0.5.
    assert out.self_rewards.tolist() == pytest.approx([0.3, 0.0])
    assert out.rejected_rewards.tolist() == pytest.approx([-1.0, 0.5])
    assert out.logits.tolist() == pytest.approx([1.3, -0.5])
    assert out.losses.tolist() == pytest.approx([-_logsigmoid(1.3), -_logsigmoid(-0.5)])


def test_gradient_signs():
    policy_self = torch.tensor([[-4.0, -6.0]], requires_grad=True)
    policy_rejected = torch.tensor([-5.0], requires_grad=True)
    ref_self = torch.tensor([[-5.0, -5.0]])
    ref_rejected = torch.tensor([-5.0])
    loss = d2o_loss(
        policy_self, policy_rejected, ref_self, ref_rejected, alpha=0.1, beta=0.1
    ).losses.sum()
    loss.backward()
    # Raising log p(y_l) raises the loss; raising any self-sample's log-prob lowers it.
    assert policy_rejected.grad.item() > 0
    assert (policy_self.grad < 0).all()
    # The self-sample term is averaged: each of the K samples gets 1/K of the weight.
    assert policy_self.grad[0, 0].item() == pytest.approx(policy_self.grad[0, 1].item())


def test_k1_equal_weights_is_sigmoid_dpo():
    generator = torch.Generator().manual_seed(0)
    chosen, rejected, ref_chosen, ref_rejected = (
        -torch.rand(5, generator=generator) * 50 for _ in range(4)
    )
    beta = 0.1
    out = d2o_loss(
        chosen[:, None], rejected, ref_chosen[:, None], ref_rejected, alpha=beta, beta=beta
    )
    dpo = -F.logsigmoid(beta * ((chosen - ref_chosen) - (rejected - ref_rejected)))
    torch.testing.assert_close(out.losses, dpo, rtol=0, atol=1e-6)


def test_mean_over_k_sits_inside_the_sigmoid():
    # Two self-samples with log-ratios +4 and -4 cancel inside the sigmoid (distributional form),
    # unlike the instance-level average of two DPO losses.
    policy_self = torch.tensor([[4.0, -4.0]])
    zeros = torch.zeros(1)
    out = d2o_loss(policy_self, zeros, torch.zeros(1, 2), zeros, alpha=1.0, beta=1.0)
    assert out.losses.item() == pytest.approx(math.log(2))
    instance_level = (-F.logsigmoid(torch.tensor([4.0, -4.0]))).mean().item()
    assert instance_level > out.losses.item()


@pytest.mark.parametrize(
    ("self_shape", "rejected_shape"),
    [((3,), (3,)), ((3, 2), (2,)), ((3, 2), (3, 1))],
)
def test_shape_mismatch_raises(self_shape, rejected_shape):
    with pytest.raises(ValueError, match="shape"):
        d2o_loss(
            torch.zeros(self_shape),
            torch.zeros(rejected_shape),
            torch.zeros(self_shape),
            torch.zeros(rejected_shape),
            alpha=0.1,
            beta=0.1,
        )
