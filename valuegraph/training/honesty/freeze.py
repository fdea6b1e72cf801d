"""Keep a vision-language model's vision encoder fixed while its language side trains.

MoHoBench's alignment fine-tunes the whole model (spec §3.7 suggests a frozen vision tower);
without freezing, full fine-tuning on a few thousand honesty pairs moves the image encoder too
(21 of the tiny test LLaVA's 23 vision-tower tensors changed). The encoder is found by module
name, as the common families spell it: LLaVA, InternVL, Gemma 3 ``vision_tower``; Idefics /
SmolVLM ``vision_model``; Qwen2-VL / Qwen2.5-VL ``visual``. The projector that maps image
features into the language model still trains.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

VISION_TOWER_PARTS = ("vision_tower", "vision_model", "visual", "vision_encoder",
                      "image_encoder")


def is_vision_tower(name: str) -> bool:
    """Whether a parameter (or state-dict key) belongs to the vision encoder."""
    return any(part in VISION_TOWER_PARTS for part in name.split("."))


def vision_tower_names(names: Iterable[str]) -> list[str]:
    return [n for n in names if is_vision_tower(n)]


def freeze_vision_tower(model: Any) -> int:
    """Set ``requires_grad=False`` on every vision-encoder parameter; returns how many.

    Raises:
        ValueError: the model has no parameter under a known vision-encoder name.
    """
    frozen = 0
    for name, parameter in model.named_parameters():
        if is_vision_tower(name):
            parameter.requires_grad_(False)
            frozen += 1
    if not frozen:
        raise ValueError(f"{type(model).__name__} has no vision-encoder parameters (looked for "
                         f"modules named {', '.join(VISION_TOWER_PARTS)})")
    return frozen
