"""The configuration of ``valuegraph align`` (YAML or TOML, ``--set`` overrides), validated in
full before anything is written.

    models:   {attacker: ..., judge: ..., target: hf/<dir>}   # the target is the model trained
    probe:    DeNEVIL params (principles, limit, rounds, samples, ... as `run denevil`)
    heldout:  share of the probe's prompts kept out of training, re-probed after it
    threshold: tau; a training prompt's completion with p(violation) > tau is a negative
    train:    D²O settings (k, alpha, beta, lora, training, self_sampling, ...) as `train d2o`
    reprobe:  bench moral settings for the held-out prompts (samples, max_tokens, ...)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from valuegraph.config import ROLES, ConfigError, read_config_file

TRAIN_RESERVED = ("model", "output_dir", "data", "resume")
"""D²O settings the pipeline sets itself (the base model, the stage's directory, its data)."""


class ReprobeSettings(BaseModel):
    """How the held-out prompts are re-probed (defaults as ``bench moral`` and DeNEVIL)."""

    model_config = ConfigDict(extra="forbid")
    samples: int = Field(10, ge=1, description="K completions per prompt and model.")
    max_tokens: int = Field(128, ge=1)
    temperature: float = Field(1.0, ge=0.0)
    top_p: float = Field(0.9, gt=0.0, le=1.0)
    judge_method: Literal["auto", "logprobs", "loglik", "vote"] = "auto"
    judge_votes: int = Field(5, ge=1)
    concurrency: int = Field(16, ge=1)
    n_resamples: int = Field(1000, ge=100, description="Bootstrap resamples of the intervals.")


class AlignConfig(BaseModel):
    """Everything ``valuegraph align`` needs; written resolved into the run directory."""

    model_config = ConfigDict(extra="forbid")
    run_id: str | None = None
    runs_dir: Path = Path("runs")
    models: dict[str, str] = Field(default_factory=dict, validate_default=True, description=(
        "attacker and judge: any spec; target: hf/<dir>, the model probed, trained and "
        "re-probed."))
    api_bases: dict[str, str] = Field(default_factory=dict)
    seed: int = 0
    cache: bool = True
    concurrency: int = Field(4, ge=1, description="DeNEVIL principles in flight.")
    budget: int | None = Field(None, ge=1, description=(
        "Most model requests the probe (its DeNEVIL run) may send; None: unbounded. A probe "
        "that runs out stops the pipeline as incomplete; raise it and resume."))
    probe: dict[str, Any] = Field(default_factory=dict, description="DeNEVIL params.")
    heldout: float = Field(0.5, gt=0.0, lt=1.0, description=(
        "Share of the probe's prompts held out of training and re-probed [R]."))
    threshold: float = Field(0.5, ge=0.0, lt=1.0, description=(
        "tau: a completion with p(violation) > tau is a negative (DeNEVIL's threshold)."))
    train: dict[str, Any] = Field(default_factory=dict, description="D²O settings.")
    reprobe: ReprobeSettings = Field(default_factory=ReprobeSettings)

    @field_validator("models")
    @classmethod
    def _roles(cls, value: dict[str, str]) -> dict[str, str]:
        unknown = sorted(set(value) - set(ROLES))
        if unknown:
            raise ValueError(f"unknown role(s) {unknown}; allowed roles: {', '.join(ROLES)}")
        merged = {"attacker": "local", "judge": "local", **value}
        target = merged.get("target", "")
        if not target.startswith("hf/") or not target.removeprefix("hf/"):
            raise ValueError(f"models.target must be hf/<model directory> (the model D²O "
                             f"trains), got {target!r}")
        return merged

    @field_validator("train")
    @classmethod
    def _train_keys(cls, value: dict[str, Any]) -> dict[str, Any]:
        reserved = sorted(set(value) & set(TRAIN_RESERVED))
        if reserved:
            raise ValueError(f"train.{reserved[0]} is set by the pipeline (the target model, "
                             "the stage's directory and the probe's negatives)")
        return value

    @property
    def base_model(self) -> str:
        """The directory of the model being aligned."""
        return self.models["target"].removeprefix("hf/")


def _one_line(exc: ValidationError) -> str:
    err = exc.errors()[0]
    where = ".".join(str(p) for p in err["loc"]) or "config"
    message = str(err["msg"]).removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        message = f"unknown setting; allowed: {', '.join(AlignConfig.model_fields)}" \
            if len(err["loc"]) == 1 else "unknown setting"
    return f"align: {where}: {message}"


def _merged(base: dict[str, Any], layer: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in layer.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merged(out[key], value)
        else:
            out[key] = value
    return out


def resolve_align_config(explicit: dict[str, Any], file: str | Path | None = None
                         ) -> AlignConfig:
    """The config file (if any) with ``explicit`` values on top, validated.

    Raises:
        ConfigError: unreadable or malformed file, unknown setting, or a bad value (one line).
    """
    data = _merged(read_config_file(file) if file is not None else {}, explicit)
    try:
        return AlignConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_one_line(exc)) from None
