"""The model card written next to a trained model: method, data and hyperparameters."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any


def file_digest(path: Path) -> str:
    """The first 16 hex digits of a SHA-256 that pins the exact data used: of the file, or of
    a run or bench directory's top-level JSONL files (name and content, in name order)."""
    digest = hashlib.sha256()
    files = sorted(path.glob("*.jsonl")) if path.is_dir() else [path]
    for file in files:
        if path.is_dir():
            digest.update(file.name.encode() + b"\0")
        with file.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()[:16]


def _front_matter(base_model: str, method: str) -> str:
    tags = ["valuegraph", "trl", method.lower()]
    lines = ["---", f"base_model: {json.dumps(base_model)}", "library_name: transformers", "tags:"]
    lines += [f"- {tag}" for tag in tags]
    return "\n".join(lines + ["---"])


def write_model_card(
    out_dir: Path,
    *,
    method: str,
    paper: str,
    base_model: str,
    data: dict[str, Any],
    hyperparameters: dict[str, Any],
    adapter: bool,
    model_class: str = "AutoModelForCausalLM",
) -> Path:
    """Writes ``README.md`` in ``out_dir`` (replacing TRL's draft card).

    Args:
        out_dir: The directory holding the saved model.
        method: The method's name, e.g. ``"D2O"`` or ``"SimPO"``.
        paper: The paper reference (title and arXiv id).
        base_model: The initial model's path or id.
        data: Data files (with digests) and counts.
        hyperparameters: Every hyperparameter that shaped the run.
        adapter: Whether ``out_dir`` holds a LoRA adapter rather than full weights.
        model_class: The transformers auto class that loads the model.

    Returns:
        The card's path.
    """
    if adapter:
        load = (
            f"from peft import PeftModel\nfrom transformers import {model_class}\n"
            f"base = {model_class}.from_pretrained({base_model!r})\n"
            f"model = PeftModel.from_pretrained(base, {str(out_dir)!r})"
        )
    else:
        load = (
            f"from transformers import {model_class}\n"
            f"model = {model_class}.from_pretrained({str(out_dir)!r})"
        )
    data_rows = "\n".join(f"| {key} | {value} |" for key, value in data.items())
    hyper_rows = "\n".join(
        f"| {key} | {json.dumps(value) if not isinstance(value, str) else value} |"
        for key, value in sorted(hyperparameters.items())
    )
    body = f"""{_front_matter(base_model, method)}

# {Path(base_model).name or base_model} aligned with {method}

Trained with valuegraph (`valuegraph train`) on TRL from `{base_model}`.
Weights: {"a LoRA adapter over the base model" if adapter else "full model"}.

## Method

{method}: {paper}

## Data

| item | value |
|---|---|
{data_rows}

## Hyperparameters

| name | value |
|---|---|
{hyper_rows}

## Loading

```python
{load}
```
"""
    path = out_dir / "README.md"
    path.write_text(body, encoding="utf-8")
    return path
