"""Configurations of the reference-free honesty trainers (SimPO, ORPO).

Both subclass TRL's ``DPOConfig`` so they share its data, length and vision options; the
DPO-specific loss options must keep their defaults, and no reference model is used.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from trl import DPOConfig


def _reference_free_problems(config: DPOConfig) -> list[str]:
    problems = []
    if config.loss_type != ["sigmoid"]:
        problems.append(
            "loss_type must stay ['sigmoid'] (the trainer has its own loss), "
            f"got {config.loss_type}"
        )
    for name, value, default in (
        ("precompute_ref_log_probs", config.precompute_ref_log_probs, False),
        ("sync_ref_model", config.sync_ref_model, False),
        ("ld_alpha", config.ld_alpha, None),
        ("f_divergence_type", config.f_divergence_type, "reverse_kl"),
        ("use_weighting", config.use_weighting, False),
        ("use_liger_kernel", config.use_liger_kernel, False),
    ):
        if value != default:
            problems.append(
                f"{name} is not supported without a reference model (must be {default!r})"
            )
    return problems


@dataclass
class SimPOConfig(DPOConfig):
    """Configuration for :class:`~valuegraph.training.honesty.trainer.SimPOTrainer`.

    ``beta`` is SimPO's reward scale β (default 2.0, the paper's usual value); ``simpo_gamma`` is
    the target margin γ inside the sigmoid. MoHoBench does not publish its SimPO settings (spec
    §3.7 suggests γ = 0.5 with β ≈ 2 as a start).
    """

    beta: float = field(default=2.0, metadata={"help": "SimPO reward scale β."})
    simpo_gamma: float = field(default=0.5, metadata={"help": "SimPO target reward margin γ."})

    def __post_init__(self) -> None:
        super().__post_init__()
        problems = _reference_free_problems(self)
        if self.beta <= 0:
            problems.append(f"beta must be > 0, got {self.beta}")
        if self.simpo_gamma < 0:
            problems.append(f"simpo_gamma must be >= 0, got {self.simpo_gamma}")
        if problems:
            raise ValueError("; ".join(problems))


@dataclass
class ORPOConfig(DPOConfig):
    """Configuration for :class:`~valuegraph.training.honesty.trainer.ORPOTrainer`.

    ``orpo_lambda`` is λ, the weight of the odds-ratio term added to the SFT loss (the ORPO paper
    uses 0.1); the inherited ``beta`` is unused.
    """

    orpo_lambda: float = field(default=0.1, metadata={"help": "ORPO odds-ratio weight λ."})

    def __post_init__(self) -> None:
        super().__post_init__()
        problems = _reference_free_problems(self)
        if self.orpo_lambda <= 0:
            problems.append(f"orpo_lambda must be > 0, got {self.orpo_lambda}")
        if problems:
            raise ValueError("; ".join(problems))
