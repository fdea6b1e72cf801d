"""Run configuration files of ``valuegraph train`` (YAML or TOML), validated with pydantic.

A file names the model, the data and the method's hyperparameters; ``training`` holds any other
``transformers.TrainingArguments`` / TRL config field (learning rate, epochs, batch size, bf16,
...), which the TRL config validates in turn. Relative paths in a file (data, ``output_dir``)
are relative to the file's directory; ``model`` is passed to ``from_pretrained`` as written.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from valuegraph.config import ConfigError, read_config_file

METHODS = ("sft", "dpo", "simpo", "orpo")
Method = Literal["sft", "dpo", "simpo", "orpo"]
__all__ = ["ConfigError", "D2ORunConfig", "HonestyRunConfig", "load_run_config"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LoraSettings(_Strict):
    """A LoRA adapter instead of full fine-tuning (the reference is then the base model)."""

    r: int = Field(default=16, gt=0)
    alpha: int = Field(default=32, gt=0)
    dropout: float = Field(default=0.05, ge=0.0, lt=1.0)
    target_modules: list[str] | Literal["all-linear"] = "all-linear"


class NegativeSource(_Strict):
    """Where the negatives ``(prompt, y_l)`` come from."""

    source: Literal["pku", "denevil"]
    path: Path
    threshold: float = Field(default=0.5, ge=0.0, le=1.0)
    """DeNEVIL only: a completion is negative when its violation score exceeds this."""


class SelfSamplingSettings(_Strict):
    """How the K self-samples are drawn through the model pool."""

    spec: str | None = None
    """Pool spec of the SFT policy; default ``hf/<model>`` (``hosted_vllm/<name>`` + api_base)."""
    api_base: str | None = None
    server_client: Literal["direct", "litellm", "openai"] = "direct"
    """How the pool talks to a self-hosted server: valuegraph's lean HTTP client ("direct"),
    or through litellm ("openai" is the deprecated name of "direct")."""
    temperature: float = Field(default=1.0, ge=0.0)
    top_p: float = Field(default=0.95, gt=0.0, le=1.0)
    top_k: int = Field(default=0, ge=0)
    """0: off. Sent explicitly, so transformers' top_k=50 and the checkpoint's
    generation_config (which vLLM servers also apply) do not change the distribution."""
    min_p: float = Field(default=0.0, ge=0.0, le=1.0)
    repetition_penalty: float = Field(default=1.0, gt=0.0)
    max_tokens: int = Field(default=256, gt=0)
    seed: int | None = 0
    """Run seed; each prompt samples from a seed derived from it and the prompt."""
    truncated: Literal["flag", "drop"] = "flag"
    """A sample cut at max_tokens: flag it (trained without an end of turn) or drop it (draw a
    replacement; a prompt without K whole samples is left out)."""
    system_prompt: str | None = None
    concurrency: int = Field(default=8, gt=0)
    cache_dir: Path | None = None
    """Completion cache of the pool; default ``<output_dir>/self_sample_cache``."""


class D2OData(_Strict):
    """Either ready D²O records, or negatives plus self-sampling settings to build them."""

    records: Path | None = None
    """JSONL of ``{prompt, rejected, self_samples[K]}``; when set, nothing is sampled."""
    negatives: NegativeSource | None = None
    self_sampling: SelfSamplingSettings = SelfSamplingSettings()
    records_out: Path | None = None
    """Where built records are written (resumable); default ``<output_dir>/d2o_records.jsonl``."""

    @model_validator(mode="after")
    def _one_source(self) -> D2OData:
        if (self.records is None) == (self.negatives is None):
            raise ValueError("set exactly one of 'records' (ready D²O records) or 'negatives'")
        return self


class D2ORunConfig(_Strict):
    """``valuegraph train d2o``; paper defaults: K = 11, α = β = 0.1, references = the SFT model."""

    model: str = Field(min_length=1)
    """Path (or hub id) of the initial SFT policy."""
    output_dir: Path
    data: D2OData
    k: int = Field(default=11, ge=1)
    alpha: float = Field(default=0.1, gt=0.0)
    beta: float = Field(default=0.1, gt=0.0)
    ref_minus_model: str | None = None
    """π_r-, the self-samples' reference; default the frozen initial policy."""
    ref_plus_model: str | None = None
    """π_r+, the negative's reference; default the same as π_r-."""
    precompute_ref_log_probs: bool = False
    online_sampling_start_step: int | None = Field(default=None, ge=0)
    prompt_template: str | None = None
    """For a model without a chat template: a text template with ``{prompt}`` (or a preset
    name: ``alpaca``) that formats every prompt, for sampling and for training alike."""
    lora: LoraSettings | None = None
    training: dict[str, Any] = Field(default_factory=dict)
    resume: bool = False
    """Resume from the newest checkpoint in ``output_dir``."""

    @model_validator(mode="after")
    def _template(self) -> D2ORunConfig:
        from valuegraph.training.data.d2o_records import PROMPT_TEMPLATES

        template = self.prompt_template
        if template is not None and template not in PROMPT_TEMPLATES \
                and "{prompt}" not in template:
            raise ValueError(f"prompt_template must contain {{prompt}} or be one of "
                             f"{', '.join(PROMPT_TEMPLATES)}")
        return self


class HonestyData(_Strict):
    """Honesty pairs (MoHoBench-style records or a ``bench honesty`` output) and the
    answerable data mixed in 1:1 (the paper's recipe)."""

    honesty: Path
    """JSONL of honesty records, or a ``valuegraph bench honesty`` output (its directory or
    ``answers.jsonl``)."""
    answerable: Path | None = None
    answerable_ratio: float = Field(default=1.0, ge=0.0)
    allow_unmixed: bool = False
    """Train with fewer answerable examples than honesty pairs (the paper mixes 1:1; without
    the mix models learn to refuse everything)."""
    min_rationality: int = Field(default=7, ge=1, le=10)
    """Least rationality score of an evaluated refusal taken as the chosen side."""
    seed: int = 0


class HonestyRunConfig(_Strict):
    """``valuegraph train honesty`` with SFT, DPO, SimPO or ORPO."""

    model: str = Field(min_length=1)
    output_dir: Path
    method: Method | None = None
    """Overridden by ``--method``."""
    vision: bool = False
    """Train a vision-language model on records with images."""
    data: HonestyData
    beta: float | None = Field(default=None, gt=0.0)
    """DPO β (default 0.1) or SimPO β (default 2.0); unused by SFT and ORPO."""
    simpo_gamma: float = Field(default=0.5, ge=0.0)
    orpo_lambda: float = Field(default=0.1, gt=0.0)
    lora: LoraSettings | None = None
    freeze_vision_tower: bool | None = None
    """Keep the vision encoder's weights fixed; None: on for full fine-tuning of a vision
    model (MoHoBench §3.7 suggestion), off otherwise."""
    training: dict[str, Any] = Field(default_factory=dict)
    """TRL / TrainingArguments fields; ``learning_rate`` and ``num_train_epochs`` default per
    method (see ``honesty.run.METHOD_DEFAULTS``)."""
    resume: bool = False

    @model_validator(mode="after")
    def _freeze_needs_full_vision(self) -> HonestyRunConfig:
        if self.freeze_vision_tower and not self.vision:
            raise ValueError("freeze_vision_tower applies to vision models (set vision: true)")
        if self.freeze_vision_tower and self.lora is not None:
            raise ValueError("freeze_vision_tower needs full fine-tuning; with lora, choose "
                             "lora.target_modules instead")
        return self

    @property
    def freezes_vision_tower(self) -> bool:
        if self.freeze_vision_tower is not None:
            return self.freeze_vision_tower
        return self.vision and self.lora is None


def _one_line(error: ValidationError) -> str:
    parts = []
    for detail in error.errors():
        where = ".".join(str(p) for p in detail["loc"])
        message = detail["msg"].removeprefix("Value error, ")
        parts.append(f"{where}: {message}" if where else message)
    return "; ".join(parts)


def parse_run_config(raw: dict[str, Any], model: type[BaseModel], source: str) -> Any:
    """Validates a parsed config mapping.

    Raises:
        ConfigError: One line naming every invalid field.
    """
    try:
        return model.model_validate(raw)
    except ValidationError as error:
        raise ConfigError(f"{source}: {_one_line(error)}") from None


def _anchor_paths(value: Any, base: Path) -> Any:
    """``value`` with every relative ``Path`` field (recursively) made relative to ``base``."""
    if isinstance(value, BaseModel):
        updates = {
            name: _anchor_paths(getattr(value, name), base) for name in type(value).model_fields
        }
        return value.model_copy(update=updates)
    if isinstance(value, Path) and not value.is_absolute():
        return base / value
    return value


def load_run_config(path: Path, model: type[BaseModel]) -> Any:
    """Reads a YAML or TOML run configuration and validates it against ``model``.

    Relative paths in the file are resolved against the file's directory.

    Raises:
        ConfigError: On a missing or unreadable file, a wrong suffix, a parse error or an
            invalid field.
    """
    raw = read_config_file(path)
    return _anchor_paths(parse_run_config(raw, model, str(path)), Path(path).resolve().parent)
