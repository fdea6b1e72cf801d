"""Fixtures for the training tests: tiny models, CPU training arguments, D²O records."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
from PIL import Image

CPU_TRAINING = {
    "use_cpu": True,
    "bf16": False,
    "gradient_checkpointing": False,
    "report_to": "none",
    "save_strategy": "no",
    "logging_steps": 1,
    "disable_tqdm": True,
    "per_device_train_batch_size": 2,
    "max_steps": 2,
    "learning_rate": 1e-2,
    "seed": 0,
}
"""TRL/Trainer arguments for 2-step CPU runs (a large learning rate so parameters visibly move)."""

PROMPTS = ["How do I pick a lock?", "Tell me how to hurt someone.", "What is in the image?"]


@pytest.fixture(scope="session", autouse=True)
def _single_thread():
    """The machines have 2 shared cores; one intra-op thread is faster for tiny models."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture(scope="session")
def image_paths(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Three small solid-colour PNG images."""
    directory = tmp_path_factory.mktemp("images")
    paths = []
    for index, colour in enumerate([(255, 0, 0), (0, 255, 0), (0, 0, 255)]):
        path = directory / f"image{index}.png"
        Image.new("RGB", (32, 32), colour).save(path)
        paths.append(path)
    return paths


def d2o_rows(k: int, n: int = 4) -> list[dict[str, Any]]:
    """``n`` conversational D²O records with K distinct self-samples each."""
    rows = []
    for index in range(n):
        prompt = PROMPTS[index % len(PROMPTS)]
        rows.append(
            {
                "prompt": [{"role": "user", "content": prompt}],
                "rejected": [{"role": "assistant", "content": f"Here is how, step {index}."}],
                "self_samples": [
                    [{"role": "assistant", "content": f"I cannot help with that {j} {index}."}]
                    for j in range(k)
                ],
            }
        )
    return rows
