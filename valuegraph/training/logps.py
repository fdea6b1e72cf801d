"""Per-token completion log-probabilities through TRL's fused LM head, shared by our trainers."""

from __future__ import annotations

from typing import Any, NamedTuple

import torch

TRAINER_ONLY_KEYS = frozenset(
    {
        "completion_mask",
        "prompt_ids",
        "prompt_mask",
        "ref_chosen_logps",
        "ref_rejected_logps",
        "ref_self_logps",
    }
)
"""Batch keys read by the trainers and never passed to the model's forward."""


class CompletionLogps(NamedTuple):
    """Per-token log-probabilities of the completion tokens of each row.

    Attributes:
        per_token: ``log π(token)`` at completion positions, 0 elsewhere, ``(N, L-1)``.
        mask: The completion mask shifted to align with ``per_token``, ``(N, L-1)``.
        outputs: The model's ``FusedCausalLMOutput`` (entropy, aux loss, ...).
    """

    per_token: torch.Tensor
    mask: torch.Tensor
    outputs: Any

    @property
    def summed(self) -> torch.Tensor:
        """Summed completion log-probability per row, ``(N,)`` (DPO's sequence log-prob)."""
        return self.per_token.sum(dim=1)

    @property
    def mean(self) -> torch.Tensor:
        """Length-normalised completion log-probability per row, ``(N,)`` (SimPO, ORPO)."""
        return self.summed / self.mask.sum(dim=1).clamp(min=1)


def completion_logps(model: Any, inputs: dict[str, Any], **forward_kwargs: Any) -> CompletionLogps:
    """Runs a model patched by ``trl.trainer.utils.add_fused_lm_head`` on collated rows.

    Args:
        model: The (possibly wrapped) model whose forward accepts ``fused_lm_head=True``.
        inputs: A collated batch with ``input_ids``, ``attention_mask``, ``completion_mask`` and,
            for vision models, the processor's image tensors.
        **forward_kwargs: Extra forward arguments (e.g. ``output_router_logits``).

    Returns:
        The per-token log-probabilities, the aligned mask and the raw outputs.
    """
    model_kwargs = {k: v for k, v in inputs.items() if k not in TRAINER_ONLY_KEYS}
    completion_mask = inputs["completion_mask"]
    labels = inputs["input_ids"].masked_fill(completion_mask == 0, -100)
    outputs = model(
        **model_kwargs, labels=labels, fused_lm_head=True, use_cache=False, **forward_kwargs
    )
    shift_mask = completion_mask[:, 1:]
    # Prompt-learning PEFT prepends virtual tokens; keep the positions of the real tokens.
    per_token = outputs.log_probs[:, -shift_mask.size(1) :]
    return CompletionLogps(per_token, shift_mask, outputs)
