"""The honesty run: MoHoBench-style records -> SFT / DPO / SimPO / ORPO -> model + card."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from valuegraph.training.honesty.data import build_honesty_examples
from valuegraph.training.model_card import file_digest, write_model_card
from valuegraph.training.run_config import ConfigError, HonestyRunConfig, Method
from valuegraph.training.runs import (
    TrainRun,
    check_model,
    common_hyperparameters,
    finish_training,
    peft_config,
    trl_args,
)

logger = logging.getLogger(__name__)

METHOD_NAMES = {"sft": "SFT", "dpo": "DPO", "simpo": "SimPO", "orpo": "ORPO"}
PAPERS = {
    "SFT": "supervised fine-tuning on the honest (chosen) responses (MoHoBench, arXiv 2507.21503)",
    "DPO": "Rafailov et al., Direct Preference Optimization (arXiv 2305.18290), sigmoid loss",
    "SimPO": "Meng et al., SimPO: Simple Preference Optimization with a Reference-Free Reward "
    "(arXiv 2405.14734), Eq. 6",
    "ORPO": "Hong et al., ORPO: Monolithic Preference Optimization without Reference Model "
    "(arXiv 2403.07691), Eqs. 6-7",
}


@dataclass
class HonestyPlan:
    """A validated honesty run."""

    config: HonestyRunConfig
    method: Method
    args: Any
    examples: list[dict[str, Any]]


def plan_honesty(config: HonestyRunConfig, method: Method | None = None) -> HonestyPlan:
    """Validates an honesty run (method from the argument, else the config) without writing.

    Raises:
        ConfigError: On a bad option, a missing method or an unloadable model.
        FileError: On a bad data file, naming the line.
    """
    method = method or config.method
    if method is None:
        raise ConfigError(
            "method: not set; pass --method sft|dpo|simpo|orpo or set 'method' in the config"
        )
    data = config.data
    examples = build_honesty_examples(
        data.honesty,
        fmt="sft" if method == "sft" else "preference",
        with_images=config.vision,
        answerable_path=data.answerable,
        answerable_ratio=data.answerable_ratio,
        seed=data.seed,
    )
    fields: dict[str, Any] = {"output_dir": str(config.output_dir)}
    if method == "sft":
        from trl import SFTConfig as config_class
    elif method == "dpo":
        from trl import DPOConfig as config_class

        fields["beta"] = config.beta or 0.1
    elif method == "simpo":
        from valuegraph.training.honesty.config import SimPOConfig as config_class

        fields.update(beta=config.beta or 2.0, simpo_gamma=config.simpo_gamma)
    else:
        from valuegraph.training.honesty.config import ORPOConfig as config_class

        fields["orpo_lambda"] = config.orpo_lambda
    args = trl_args(config_class, fields, config.training)
    check_model(config.model, "model")
    return HonestyPlan(config, method, args, examples)


def _honesty_dataset(examples: list[dict[str, Any]], vision: bool) -> Any:
    from datasets import Dataset, Image, List

    dataset = Dataset.from_list(examples)
    return dataset.cast_column("images", List(Image())) if vision else dataset


def execute_honesty(plan: HonestyPlan) -> TrainRun:
    """Trains with the planned method and saves the model, its processor and its card."""
    from transformers import AutoProcessor, AutoTokenizer

    config, method = plan.config, plan.method
    config.output_dir.mkdir(parents=True, exist_ok=True)
    processing_class = (AutoProcessor if config.vision else AutoTokenizer).from_pretrained(
        config.model
    )
    kwargs = {
        "args": plan.args,
        "train_dataset": _honesty_dataset(plan.examples, config.vision),
        "processing_class": processing_class,
        "peft_config": peft_config(config.lora),
    }
    if method == "sft":
        from trl import SFTTrainer as trainer_class
    elif method == "dpo":
        from trl import DPOTrainer as trainer_class
    elif method == "simpo":
        from valuegraph.training.honesty.trainer import SimPOTrainer as trainer_class
    else:
        from valuegraph.training.honesty.trainer import ORPOTrainer as trainer_class
    trainer = trainer_class(config.model, **kwargs)
    log_history = finish_training(trainer, config.output_dir, config.resume)
    hyperparameters = {"vision": config.vision, **common_hyperparameters(plan.args, config.lora)}
    if method in ("dpo", "simpo"):
        hyperparameters["beta"] = plan.args.beta
    if method == "simpo":
        hyperparameters["simpo_gamma"] = plan.args.simpo_gamma
    if method == "orpo":
        hyperparameters["orpo_lambda"] = plan.args.orpo_lambda
    data = config.data
    card_data = {
        "honesty records": f"`{data.honesty}` (sha256 {file_digest(data.honesty)})",
        "examples (after mixing)": len(plan.examples),
    }
    if data.answerable is not None:
        card_data["answerable data"] = (
            f"`{data.answerable}` (sha256 {file_digest(data.answerable)})"
        )
        card_data["answerable_ratio"] = data.answerable_ratio
    name = METHOD_NAMES[method]
    if not trainer.is_world_process_zero():
        return TrainRun(config.output_dir, log_history)
    write_model_card(
        config.output_dir,
        method=name,
        paper=PAPERS[name],
        base_model=config.model,
        data=card_data,
        hyperparameters=hyperparameters,
        adapter=config.lora is not None,
        model_class="AutoModelForImageTextToText" if config.vision else "AutoModelForCausalLM",
    )
    logger.info("%s model saved to %s", name, config.output_dir)
    return TrainRun(config.output_dir, log_history)


def train_honesty(config: HonestyRunConfig, method: Method | None = None) -> TrainRun:
    """Validates and runs an honesty training run."""
    return execute_honesty(plan_honesty(config, method))
