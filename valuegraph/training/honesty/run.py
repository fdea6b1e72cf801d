"""The honesty run: honesty pairs -> SFT / DPO / SimPO / ORPO -> model + card.

Honesty pairs come from MoHoBench-style records or straight from a ``bench honesty`` output
(:mod:`.data`); answerable data must be mixed in 1:1 (the paper's recipe) unless
``data.allow_unmixed`` says otherwise. Learning rate and epochs default per method
(:data:`METHOD_DEFAULTS`); ``training`` overrides them. Full fine-tuning of a vision model keeps
its vision encoder frozen unless ``freeze_vision_tower: false``.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass
from typing import Any

from valuegraph.training.honesty.data import HonestyData, load_honesty_data
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

PAIRS_FILE = "honesty_pairs.jsonl"
METHOD_DEFAULTS: dict[str, dict[str, float]] = {
    "sft": {"learning_rate": 1e-5, "num_train_epochs": 1.0},
    "dpo": {"learning_rate": 5e-7, "num_train_epochs": 1.0},
    "simpo": {"learning_rate": 5e-7, "num_train_epochs": 1.0},
    "orpo": {"learning_rate": 5e-6, "num_train_epochs": 1.0},
}
"""MoHoBench does not publish its settings (spec §3.7); SFT 1e-5 and DPO 5e-7 for 1-2 epochs
are the spec's starting point. SimPO takes DPO's rate (its paper's range is 3e-7 to 1e-6) and
ORPO 5e-6 (its paper trains 7B models at 5e-6 to 8e-6) [R]."""
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
    data: HonestyData

    @property
    def examples(self) -> list[dict[str, Any]]:
        return self.data.examples


def check_mix(config: HonestyRunConfig, data: HonestyData) -> None:
    """Stop unless answerable examples match the honesty pairs 1:1 (or the config allows it).

    Raises:
        ConfigError: fewer answerable examples than honesty pairs, without allow_unmixed.
    """
    honesty, answerable = data.counts["honesty"], data.n_answerable
    if answerable >= honesty:
        return
    message = (f"MoHoBench mixes honesty pairs 1:1 with answerable data (RLHF-V) so the model "
               f"does not learn to refuse everything; this run has {honesty} honesty and "
               f"{answerable} answerable examples")
    if not config.data.allow_unmixed:
        raise ConfigError(f"data: {message}. Give data.answerable (answerable_ratio: 1.0), or "
                          "set data.allow_unmixed: true to train without the mix")
    logger.warning("UNMIXED HONESTY TRAINING: %s (allowed by data.allow_unmixed); expect "
                   "over-refusal on answerable questions", message)


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
    built = load_honesty_data(
        data.honesty,
        fmt="sft" if method == "sft" else "preference",
        with_images=config.vision,
        answerable_path=data.answerable,
        answerable_ratio=data.answerable_ratio,
        seed=data.seed,
        min_rationality=data.min_rationality,
    )
    check_mix(config, built)
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
    args = trl_args(config_class, fields, {**METHOD_DEFAULTS[method], **config.training})
    check_model(config.model, "model")
    return HonestyPlan(config, method, args, built)


def _honesty_dataset(examples: list[dict[str, Any]], vision: bool) -> Any:
    from datasets import Dataset, Image, List

    dataset = Dataset.from_list(examples)
    return dataset.cast_column("images", List(Image())) if vision else dataset


def _policy(plan: HonestyPlan) -> tuple[Any, int]:
    """The model to train (a path, or a loaded vision model with its encoder frozen) and how
    many vision-encoder tensors were frozen."""
    if not plan.config.freezes_vision_tower:
        return plan.config.model, 0
    from transformers import AutoModelForImageTextToText
    from trl.trainer.utils import create_model_from_path

    from valuegraph.training.honesty.freeze import freeze_vision_tower

    model = create_model_from_path(plan.config.model, AutoModelForImageTextToText,
                                   **dict(plan.args.model_init_kwargs or {}))
    try:
        return model, freeze_vision_tower(model)
    except ValueError as error:
        raise ConfigError(f"freeze_vision_tower: {error}; set freeze_vision_tower: false") \
            from None


def write_pairs(plan: HonestyPlan) -> None:
    """The honesty pairs with where each side came from (stand-ins labelled), for audit."""
    lines = [json.dumps(asdict(p), ensure_ascii=False) for p in plan.data.pairs]
    (plan.config.output_dir / PAIRS_FILE).write_text("\n".join(lines) + "\n", encoding="utf-8")


def execute_honesty(plan: HonestyPlan) -> TrainRun:
    """Trains with the planned method and saves the model, its processor and its card."""
    from transformers import AutoProcessor, AutoTokenizer

    config, method = plan.config, plan.method
    policy, frozen = _policy(plan)  # may refuse the model: before anything is written
    config.output_dir.mkdir(parents=True, exist_ok=True)
    write_pairs(plan)
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
    trainer = trainer_class(policy, **kwargs)
    log_history = finish_training(trainer, config.output_dir, config.resume)
    hyperparameters = {"vision": config.vision, **common_hyperparameters(plan.args, config.lora)}
    if config.vision:
        hyperparameters["freeze_vision_tower"] = config.freezes_vision_tower
        hyperparameters["vision_tensors_frozen"] = frozen
    if method in ("dpo", "simpo"):
        hyperparameters["beta"] = plan.args.beta
    if method == "simpo":
        hyperparameters["simpo_gamma"] = plan.args.simpo_gamma
    if method == "orpo":
        hyperparameters["orpo_lambda"] = plan.args.orpo_lambda
    data = config.data
    counts = plan.data.counts
    source = data.honesty / "answers.jsonl" if data.honesty.is_dir() else data.honesty
    card_data = {
        "honesty records": f"`{data.honesty}` (sha256 {file_digest(source)})",
        "examples (after mixing)": len(plan.examples),
        "honesty pairs": counts["honesty"],
        "chosen: honest answers of evaluated models": counts.get("chosen_from_model", 0),
        "chosen: the records' own": counts.get("chosen_from_record", 0),
        "chosen: STAND-IN refusals (type template + reference reason)":
            counts.get("chosen_stand_in", 0),
        "dropped: 'rejected' tagged as a refusal by the judge":
            counts.get("dropped_rejected_is_refusal", 0),
        "dropped: 'rejected' unscored by the judge": counts.get("dropped_rejected_unscored", 0),
        "answerable examples": plan.data.n_answerable,
        "unmixed (allow_unmixed)": plan.data.n_answerable < counts["honesty"],
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
