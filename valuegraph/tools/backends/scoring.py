"""Helpers shared by the in-process backends for teacher-forced log-likelihood."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def continuation_start(prompt_ids: Sequence[int], full_ids: Sequence[int]) -> int:
    """Index in ``full_ids`` where the continuation begins.

    Tokenising prompt and prompt+continuation separately can merge tokens across the boundary;
    the continuation starts after the longest common prefix (at least one token is scored).
    """
    common = 0
    for a, b in zip(prompt_ids, full_ids, strict=False):
        if a != b:
            break
        common += 1
    return max(1, min(common, len(full_ids) - 1))


def sum_token_logprobs(logits: np.ndarray, targets: Sequence[int]) -> float:
    """Sum of log softmax(logits[i])[targets[i]]: row i predicts token i."""
    logits = logits.astype(np.float64)
    shifted = logits - logits.max(axis=-1, keepdims=True)
    log_norm = np.log(np.exp(shifted).sum(axis=-1))
    picked = shifted[np.arange(len(targets)), np.asarray(targets)]
    return float((picked - log_norm).sum())
