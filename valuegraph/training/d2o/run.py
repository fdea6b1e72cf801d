"""The D²O run: negatives (or ready records) -> self-samples -> ``D2OTrainer`` -> model + card."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from valuegraph.tools.specs import SpecError, parse_spec
from valuegraph.training.data.d2o_records import (
    is_text_records,
    load_d2o_records,
    resolve_template,
    to_text_records,
)
from valuegraph.training.data.negatives import Negative, load_denevil_negatives, load_pku_negatives
from valuegraph.training.data.self_samples import (
    SampleGenerator,
    SelfSampling,
    build_d2o_records,
    sampling_stats,
)
from valuegraph.training.model_card import file_digest, write_model_card
from valuegraph.training.run_config import ConfigError, D2ORunConfig
from valuegraph.training.runs import (
    TrainRun,
    check_model,
    common_hyperparameters,
    finish_training,
    peft_config,
    trl_args,
)

logger = logging.getLogger(__name__)

PAPER = (
    "Duan et al., Negating Negatives: Alignment with Human Negative Samples via "
    "Distributional Dispreference Optimization (arXiv 2403.03419), Eq. 3"
)


@dataclass
class D2OPlan:
    """A validated D²O run: the config, the TRL arguments and the data source."""

    config: D2ORunConfig
    args: Any
    records: list[dict[str, Any]] | None
    negatives: list[Negative] | None
    sampling: SelfSampling | None


def plan_d2o(config: D2ORunConfig) -> D2OPlan:
    """Validates a D²O run without writing anything.

    Raises:
        ConfigError: On a bad option or an unloadable model.
        FileError: On a bad data file, naming the line.
    """
    data = config.data
    records = negatives = sampling = None
    template = resolve_template(config.prompt_template)
    if data.records is not None:
        records = load_d2o_records(data.records, config.k)
        if template is not None:
            if is_text_records(records):
                raise ConfigError("prompt_template formats chat records; the records in "
                                  f"{data.records} are plain text already")
            records = to_text_records(records, template)
    else:
        source = data.negatives
        if source.source == "pku":
            negatives = load_pku_negatives(source.path)
        else:
            negatives = load_denevil_negatives(source.path, source.threshold)
        settings = data.self_sampling
        spec = settings.spec or f"hf/{config.model}"
        try:
            provider = parse_spec(spec, settings.api_base).provider
        except SpecError as error:
            raise ConfigError(f"data.self_sampling.spec: {error}") from None
        if template is not None and provider not in RAW_PROMPT_PROVIDERS:
            raise ConfigError(
                "prompt_template samples from a raw text prompt, which needs in-process "
                f"sampling (data.self_sampling.spec hf/<path>); {spec!r} would apply its own "
                "chat template"
            )
        if template is not None and settings.system_prompt:
            raise ConfigError("data.self_sampling.system_prompt needs chat messages; with "
                              "prompt_template put the instruction into the template")
        extra = {"api_base": settings.api_base} if settings.api_base else {}
        sampling = SelfSampling(
            spec=spec,
            k=config.k,
            temperature=settings.temperature,
            top_p=settings.top_p,
            top_k=settings.top_k,
            min_p=settings.min_p,
            repetition_penalty=settings.repetition_penalty,
            max_tokens=settings.max_tokens,
            seed=settings.seed,
            system_prompt=settings.system_prompt,
            prompt_template=template,
            truncated=settings.truncated,
            concurrency=settings.concurrency,
            extra=extra,
        )
    args = d2o_args(config)
    if template is None and not (records is not None and is_text_records(records)):
        check_chat_template(config.model)
    return D2OPlan(config, args, records, negatives, sampling)


def d2o_args(config: D2ORunConfig) -> Any:
    """The run's TRL arguments (validated by TRL) after checking that every model's config
    loads; reads no data and writes nothing.

    Raises:
        ConfigError: On a bad option or an unloadable model.
    """
    from valuegraph.training.d2o.config import D2OConfig

    fields = {
        "output_dir": str(config.output_dir),
        "alpha": config.alpha,
        "beta": config.beta,
        "num_self_samples": config.k,
        "precompute_ref_log_probs": config.precompute_ref_log_probs,
        "online_sampling_start_step": config.online_sampling_start_step,
        "ref_minus_model_path": config.ref_minus_model,
        "ref_plus_model_path": config.ref_plus_model,
    }
    args = trl_args(D2OConfig, fields, config.training)
    check_model(config.model, "model")
    for name in ("ref_minus_model", "ref_plus_model"):
        if getattr(config, name):
            check_model(getattr(config, name), name)
    return args


RAW_PROMPT_PROVIDERS = ("hf", "mock")
"""Pool providers that take a raw text prompt (no chat template applied)."""


def check_chat_template(model: str) -> None:
    """Chat records need the model's chat template, for training (and for in-process
    sampling): refuse a model without one before any sampling or training.

    Raises:
        ConfigError: no tokenizer, or no chat template (with what to do instead).
    """
    from transformers import AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(model)
    except (OSError, ValueError) as error:
        raise ConfigError(f"model: cannot load a tokenizer from {model!r} "
                          f"({type(error).__name__})") from None
    if not getattr(tokenizer, "chat_template", None):
        raise ConfigError(
            f"model: {model!r} has no chat template, so chat prompts cannot be formatted for "
            "sampling or training; set prompt_template (a text template with {prompt}, or "
            "'alpaca') or give plain-text records"
        )


def records_path(config: D2ORunConfig) -> Path:
    """Where built D²O records go (``data.records_out``, default in the output directory)."""
    return config.data.records_out or config.output_dir / "d2o_records.jsonl"


def _sample_records(plan: D2OPlan, generator: SampleGenerator | None) -> list[dict[str, Any]]:
    config = plan.config
    pool = None
    if generator is None:
        from valuegraph.tools.pool import ModelPool

        settings = config.data.self_sampling
        cache_dir = settings.cache_dir or config.output_dir / "self_sample_cache"
        pool = generator = ModelPool(cache_dir=cache_dir, server_client=settings.server_client)
    try:
        return asyncio.run(
            build_d2o_records(plan.negatives, generator, plan.sampling, records_path(config))
        )
    finally:
        if pool is not None:
            pool.close()


def build_d2o_data(plan: D2OPlan, generator: SampleGenerator | None = None) -> list[dict[str, Any]]:
    """The run's D²O records: as given, or built through the pool (cached, resumable).

    Under ``accelerate launch`` only the main process samples; the others then read its file.
    A long sampling job is better run first on its own (``valuegraph train d2o --data-only``),
    since the other processes wait for it at a barrier.
    """
    if plan.records is not None:
        return plan.records
    from accelerate import PartialState

    state = PartialState()
    plan.config.output_dir.mkdir(parents=True, exist_ok=True)
    with state.main_process_first():
        if state.is_main_process:
            return _sample_records(plan, generator)
        return load_d2o_records(records_path(plan.config), plan.config.k)


def execute_d2o(plan: D2OPlan, generator: SampleGenerator | None = None) -> TrainRun:
    """Builds the D²O records if needed, trains, and saves the model and its card.

    Args:
        plan: From :func:`plan_d2o`.
        generator: The sampler of self-samples; default a ``ModelPool`` with a completion cache in
            the output directory.

    Returns:
        The output directory and the logged metrics.
    """
    from datasets import Dataset
    from transformers import AutoTokenizer

    from valuegraph.training.d2o.trainer import D2OTrainer

    config = plan.config
    config.output_dir.mkdir(parents=True, exist_ok=True)
    records = build_d2o_data(plan, generator)
    trainer = D2OTrainer(
        config.model,
        args=plan.args,
        train_dataset=Dataset.from_list(records),
        processing_class=AutoTokenizer.from_pretrained(config.model),
        peft_config=peft_config(config.lora),
    )
    log_history = finish_training(trainer, config.output_dir, config.resume)
    data_file = config.data.records or config.data.negatives.path
    data = {
        "source": "D²O records"
        if config.data.records
        else f"{config.data.negatives.source} negatives",
        "file": f"`{data_file}` (sha256 {file_digest(data_file)})",
        "records": len(records),
        "distinct prompts": len({str(r["prompt"]) for r in records}),
    }
    if plan.sampling is not None:
        sampling = plan.sampling
        data["self-samples from"] = (
            f"`{sampling.spec}` (temperature={sampling.temperature}, top_p={sampling.top_p}, "
            f"top_k={sampling.top_k}{' (off)' if sampling.top_k == 0 else ''}, "
            f"min_p={sampling.min_p}, repetition_penalty={sampling.repetition_penalty}, "
            f"max_tokens={sampling.max_tokens}, all sent explicitly; seed {sampling.seed}, "
            "one derived per prompt)"
        )
        stats = sampling_stats(records, plan.negatives or [])
        data["self-samples cut at max_tokens"] = (
            f"{stats['samples_cut_at_max_tokens']} (truncated={sampling.truncated}: "
            + ("flagged, trained without an end of turn)" if sampling.truncated == "flag"
               else "replaced by fresh draws)")
        )
        data["prompts left out (no K whole samples)"] = stats["prompts_left_out"]
    if config.prompt_template is not None:
        data["prompt template"] = f"`{config.prompt_template}` (sampling and training)"
    hyperparameters = {
        "K": config.k,
        "alpha": config.alpha,
        "beta": config.beta,
        "ref_minus (π_r-)": config.ref_minus_model or "initial policy",
        "ref_plus (π_r+)": config.ref_plus_model or config.ref_minus_model or "initial policy",
        "precompute_ref_log_probs": config.precompute_ref_log_probs,
        "online_sampling_start_step": config.online_sampling_start_step,
        "sync_ref_model": plan.args.sync_ref_model,
        **common_hyperparameters(plan.args, config.lora),
    }
    if not trainer.is_world_process_zero():
        return TrainRun(config.output_dir, log_history)
    write_model_card(
        config.output_dir,
        method="D2O",
        paper=PAPER,
        base_model=config.model,
        data=data,
        hyperparameters=hyperparameters,
        adapter=config.lora is not None,
    )
    logger.info("D²O model saved to %s", config.output_dir)
    return TrainRun(config.output_dir, log_history)


def train_d2o(config: D2ORunConfig, generator: SampleGenerator | None = None) -> TrainRun:
    """Validates and runs a D²O training run."""
    return execute_d2o(plan_d2o(config), generator)
