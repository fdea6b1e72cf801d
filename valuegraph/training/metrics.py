"""Per-batch metric logging in TRL's ``DPOTrainer`` style, shared by our trainers."""

from __future__ import annotations

from typing import Any

import torch


def log_batch_metrics(
    trainer: Any, mode: str, inputs: dict[str, Any], values: dict[str, torch.Tensor]
) -> None:
    """Appends the cross-process mean of each value to ``trainer._metrics[mode]``.

    ``DPOTrainer.log`` averages these lists at each logging step. Also keeps TRL's running
    ``num_tokens`` count.
    """
    gather = trainer.accelerator.gather_for_metrics
    metrics = trainer._metrics[mode]
    for name, value in values.items():
        metrics[name].append(gather(value.detach()).mean().item())
    if mode == "train":
        tokens = gather(inputs["attention_mask"].sum()).sum().item()
        trainer._total_train_tokens += tokens // trainer._tp_size
    metrics["num_tokens"] = [trainer._total_train_tokens]
