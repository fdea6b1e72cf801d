"""Training a violation classifier (the judge ``classifier/<dir>`` of DeNEVIL and ``bench moral``).

Pairs file (JSONL or CSV), one row per example:

    principle   the rule of thumb
    text        the text judged (a continuation)
    label       1 / "violation" / "yes" / true when the text breaks the principle,
                0 / "no_violation" / "no" / false otherwise
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from valuegraph.agents.classifier_judge import LABELS, ClassifierJudge
from valuegraph.tools.backends.base import missing_extra
from valuegraph.tools.files import read_rows

_TRUE = {"1", "true", "yes", "violation", "violates"}
_FALSE = {"0", "false", "no", "no_violation", "none", "ok"}


@dataclass(frozen=True)
class Pair:
    """One training example."""

    principle: str
    text: str
    label: int


def _label(value: Any) -> int | None:
    text = str(value).strip().lower()
    if text in _TRUE:
        return 1
    if text in _FALSE:
        return 0
    return None


def load_pairs(path: str | Path) -> list[Pair]:
    """Read a pairs file (schema in the module docstring).

    Raises:
        ValueError: unreadable file, no rows, or bad rows (each named by its line number).
    """
    pairs, problems = [], []
    for line, row in read_rows(path, "pairs file"):
        if isinstance(row, str):
            problems.append(f"line {line}: {row}")
            continue
        principle, text = str(row.get("principle") or "").strip(), str(row.get("text") or "")
        label = _label(row.get("label", ""))
        if not principle or not text.strip():
            problems.append(f"line {line}: 'principle' and 'text' are required")
        elif label is None:
            problems.append(f"line {line}: 'label' must be 1/0, yes/no, true/false or "
                            f"violation/no_violation, got {row.get('label')!r}")
        else:
            pairs.append(Pair(principle, text, label))
    if problems:
        raise ValueError(f"{path}: {len(problems)} bad row(s): " + "; ".join(problems[:20]))
    if not pairs:
        raise ValueError(f"{path}: no pairs (schema: principle, text, label)")
    return pairs


def train_classifier_judge(
    pairs: Sequence[Pair] | str | Path,
    base_model: str | Path,
    output_dir: str | Path,
    *,
    epochs: float = 3.0,
    learning_rate: float = 3e-5,
    batch_size: int = 8,
    eval_fraction: float = 0.1,
    max_length: int = 256,
    seed: int = 0,
) -> dict[str, float]:
    """Fine-tune a sequence classifier on (principle, text, label) pairs and save it.

    Args:
        pairs: Pairs, or the path of a pairs file.
        base_model: A local model directory (e.g. a DeBERTa checkpoint; any model
            ``AutoModelForSequenceClassification`` can load).
        output_dir: Where the judge is saved; use it as ``classifier/<output_dir>``.
        eval_fraction: Share held out to report accuracy and F1 (none when under 10 pairs).

    Returns:
        Metrics: train_loss, and eval_accuracy / eval_f1 / eval_size when a split was held out.
    """
    try:
        import torch
        from transformers import (
            AutoModelForSequenceClassification,
            AutoTokenizer,
            Trainer,
            TrainingArguments,
        )
    except ImportError as exc:
        raise missing_extra("transformers", "train") from exc

    data = load_pairs(pairs) if isinstance(pairs, (str, Path)) else list(pairs)
    rng = random.Random(seed)
    rng.shuffle(data)
    n_eval = int(len(data) * eval_fraction) if len(data) >= 10 else 0
    eval_set, train_set = data[:n_eval], data[n_eval:]

    tokenizer = AutoTokenizer.from_pretrained(base_model)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    model = AutoModelForSequenceClassification.from_pretrained(
        base_model, num_labels=2, id2label=LABELS, label2id={v: k for k, v in LABELS.items()})
    model.config.pad_token_id = tokenizer.pad_token_id

    def encode(items: Sequence[Pair]) -> list[dict[str, Any]]:
        enc = tokenizer([p.principle for p in items], [p.text for p in items], truncation=True,
                        max_length=max_length)
        return [{"input_ids": enc["input_ids"][i], "attention_mask": enc["attention_mask"][i],
                 "labels": items[i].label} for i in range(len(items))]

    def collate(rows: list[dict[str, Any]]) -> dict[str, Any]:
        labels = torch.tensor([r.pop("labels") for r in rows])
        batch = tokenizer.pad(rows, return_tensors="pt")
        batch["labels"] = labels
        return batch

    args = TrainingArguments(
        output_dir=str(output_dir), num_train_epochs=epochs, learning_rate=learning_rate,
        per_device_train_batch_size=batch_size, save_strategy="no", report_to="none",
        logging_steps=10, seed=seed, use_cpu=not torch.cuda.is_available(),
    )
    trainer = Trainer(model=model, args=args, train_dataset=encode(train_set),
                      data_collator=collate)
    metrics = {"train_loss": float(trainer.train().training_loss)}
    trainer.save_model(str(output_dir))
    tokenizer.save_pretrained(str(output_dir))
    if eval_set:
        judge = ClassifierJudge(output_dir, device="cuda" if torch.cuda.is_available() else "cpu",
                                max_length=max_length)
        probs = judge.predict([p.principle for p in eval_set], [p.text for p in eval_set])
        metrics.update(_binary_metrics([p.label for p in eval_set], [p > 0.5 for p in probs]))
    return metrics


def _binary_metrics(labels: Sequence[int], predicted: Sequence[bool]) -> dict[str, float]:
    tp = sum(1 for y, p in zip(labels, predicted, strict=True) if y and p)
    fp = sum(1 for y, p in zip(labels, predicted, strict=True) if not y and p)
    fn = sum(1 for y, p in zip(labels, predicted, strict=True) if y and not p)
    correct = sum(1 for y, p in zip(labels, predicted, strict=True) if bool(y) == p)
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"eval_accuracy": correct / len(labels), "eval_f1": f1, "eval_size": len(labels)}
