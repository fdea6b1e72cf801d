"""Batch layout for D²O: each example becomes K self-sample rows and one negative row."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
from transformers.data.data_collator import DataCollatorMixin
from trl.trainer.utils import pad


def layout_rows(
    prompts: Sequence[Sequence[int]],
    slots: Sequence[Sequence[Sequence[int]]],
    *,
    pad_token_id: int,
    max_length: int | None = None,
    truncation_mode: str = "keep_start",
    pad_to_multiple_of: int | None = None,
) -> dict[str, torch.Tensor]:
    """Builds right-padded ``prompt + completion`` rows, slot-major.

    Row ``j * B + b`` holds example ``b``'s completion in slot ``j``: slots ``0..K-1`` are the
    self-samples and slot ``K`` the negative, so with K = 1 the layout is TRL's
    ``[chosen..., rejected...]``.

    Args:
        prompts: Prompt token ids per example (length B).
        slots: ``slots[j][b]``: completion token ids of slot ``j`` for example ``b``.
        pad_token_id: Padding id for ``input_ids``.
        max_length: Per-row length limit applied before padding (None: no limit).
        truncation_mode: ``"keep_start"`` or ``"keep_end"``, as in TRL.
        pad_to_multiple_of: Pads the length to a multiple of this value.

    Returns:
        ``input_ids``, ``attention_mask`` and ``completion_mask``, each ``((K+1)·B, L)``.
    """
    if truncation_mode not in ("keep_start", "keep_end"):
        raise ValueError(
            f"truncation_mode must be 'keep_start' or 'keep_end', got {truncation_mode!r}"
        )
    rows, masks = [], []
    for slot in slots:
        for prompt, completion in zip(prompts, slot, strict=True):
            ids = list(prompt) + list(completion)
            mask = [0] * len(prompt) + [1] * len(completion)
            if max_length is not None:
                cut = (
                    slice(None, max_length)
                    if truncation_mode == "keep_start"
                    else slice(-max_length, None)
                )
                ids, mask = ids[cut], mask[cut]
            rows.append(torch.tensor(ids, dtype=torch.long))
            masks.append(torch.tensor(mask, dtype=torch.long))
    padding = {"padding_side": "right", "pad_to_multiple_of": pad_to_multiple_of}
    return {
        "input_ids": pad(rows, padding_value=pad_token_id, **padding),
        "attention_mask": pad([torch.ones_like(r) for r in rows], padding_value=0, **padding),
        "completion_mask": pad(masks, padding_value=0, **padding),
    }


@dataclass
class DataCollatorForD2O(DataCollatorMixin):
    """Collates tokenized D²O examples (``prompt_ids``, ``self_ids[K]``, ``rejected_ids``).

    Precomputed reference log-probs (``ref_self_logps`` of length K, ``ref_rejected_logps``) are
    passed through as ``(B, K)`` and ``(B,)`` tensors. With ``return_prompts`` the left-padded
    prompts (``prompt_ids``, ``prompt_mask``) are added for online sampling.
    """

    pad_token_id: int
    max_length: int | None = None
    truncation_mode: str = "keep_start"
    pad_to_multiple_of: int | None = None
    return_prompts: bool = False
    return_tensors: str = "pt"

    def torch_call(self, examples: list[dict[str, Any]]) -> dict[str, Any]:
        k = len(examples[0]["self_ids"])
        if any(len(example["self_ids"]) != k for example in examples):
            raise ValueError("every example in a batch must have the same number of self-samples")
        prompts = [example["prompt_ids"] for example in examples]
        slots = [[example["self_ids"][j] for example in examples] for j in range(k)]
        slots.append([example["rejected_ids"] for example in examples])
        output = layout_rows(
            prompts,
            slots,
            pad_token_id=self.pad_token_id,
            max_length=self.max_length,
            truncation_mode=self.truncation_mode,
            pad_to_multiple_of=self.pad_to_multiple_of,
        )
        if "ref_self_logps" in examples[0]:
            output["ref_self_logps"] = torch.tensor([e["ref_self_logps"] for e in examples])
            output["ref_rejected_logps"] = torch.tensor([e["ref_rejected_logps"] for e in examples])
        if self.return_prompts:
            tensors = [torch.tensor(p, dtype=torch.long) for p in prompts]
            output["prompt_ids"] = pad(
                tensors, padding_value=self.pad_token_id, padding_side="left"
            )
            output["prompt_mask"] = pad(
                [torch.ones_like(t) for t in tensors], padding_value=0, padding_side="left"
            )
        return output
