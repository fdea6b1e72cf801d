"""Shared pieces of the runs behind ``valuegraph train`` (``d2o/run.py``, ``honesty/run.py``).

Each run has two phases. ``plan_*`` validates the config, the data files (line-numbered errors),
the TRL arguments and the model's config, and writes nothing; it raises
:class:`~valuegraph.training.run_config.ConfigError` or
:class:`~valuegraph.tools.files.FileError`. ``execute_*`` then builds the data, trains,
saves the final model in ``output_dir`` and writes its model card.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, NamedTuple

from valuegraph.training.run_config import ConfigError


class TrainRun(NamedTuple):
    """What a finished run left behind.

    Attributes:
        output_dir: Holds the final model (or adapter), its tokenizer/processor, ``README.md``
            (the model card) and ``trainer_state.json``.
        log_history: The trainer's logged metrics, one dict per logging step.
    """

    output_dir: Path
    log_history: list[dict[str, Any]]


def finish_training(trainer: Any, output_dir: Path, resume: bool) -> list[dict[str, Any]]:
    """Trains (resuming from the newest checkpoint if asked), saves the model and the state.

    Under ``accelerate launch`` only the main process writes (TRL's ``save_model`` and
    ``save_state`` check it themselves; the model card is written by the caller on it).
    """
    resume_from = resume and any(output_dir.glob("checkpoint-*"))
    trainer.train(resume_from_checkpoint=True if resume_from else None)
    trainer.save_model(str(output_dir))
    trainer.save_state()
    return list(trainer.state.log_history)


def trl_args(config_class: type, fields: dict[str, Any], training: dict[str, Any]) -> Any:
    """Builds a TRL config from our fields plus the free-form ``training`` section.

    Raises:
        ConfigError: On an unknown or clashing ``training`` key, or a value TRL rejects.
    """
    known = {f.name for f in dataclasses.fields(config_class)}
    for key in training:
        if key in fields:
            raise ConfigError(
                f"training.{key}: set '{key}' at the top level of the config, not under training"
            )
        if key not in known:
            raise ConfigError(
                f"training.{key}: not an option of {config_class.__name__} "
                "(allowed: transformers TrainingArguments and TRL config fields)"
            )
    try:
        return config_class(**fields, **training)
    except (ValueError, TypeError) as error:
        raise ConfigError(f"training: {' '.join(str(error).split())}") from None


def check_model(name: str, field_name: str) -> None:
    """Raises ConfigError when no model config loads from ``name`` (cheap; no weights)."""
    from transformers import AutoConfig

    try:
        AutoConfig.from_pretrained(name)
    except (OSError, ValueError) as error:
        raise ConfigError(
            f"{field_name}: cannot load a model config from {name!r} ({type(error).__name__})"
        ) from None


def peft_config(lora: Any) -> Any:
    """The LoRA ``peft.LoraConfig`` of a run's ``lora`` section (None: full fine-tuning)."""
    if lora is None:
        return None
    from peft import LoraConfig

    return LoraConfig(
        r=lora.r,
        lora_alpha=lora.alpha,
        lora_dropout=lora.dropout,
        target_modules=lora.target_modules,
        task_type="CAUSAL_LM",
    )


def common_hyperparameters(args: Any, lora: Any) -> dict[str, Any]:
    """The optimisation settings every model card lists, plus the LoRA settings if any."""
    names = (
        "learning_rate",
        "lr_scheduler_type",
        "warmup_steps",
        "num_train_epochs",
        "max_steps",
        "per_device_train_batch_size",
        "gradient_accumulation_steps",
        "max_length",
        "bf16",
        "seed",
    )
    values = {name: getattr(args, name) for name in names}
    values["lr_scheduler_type"] = str(
        getattr(values["lr_scheduler_type"], "value", values["lr_scheduler_type"])
    )
    if lora is not None:
        values.update({f"lora_{k}": v for k, v in lora.model_dump().items()})
    return values
