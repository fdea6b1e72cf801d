"""Run configuration: one pydantic model, one precedence rule.

Precedence, highest first: explicit values (Python keyword arguments, CLI ``--set``) > the run
configuration file (YAML or TOML) > environment variables (``VALUEGRAPH_<FIELD>``) > defaults.
This module is the only place that rule is written.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

ENV_PREFIX = "VALUEGRAPH_"
ROLES = ("attacker", "target", "judge", "optimizer")


class ConfigError(ValueError):
    """Invalid configuration; the message is one line saying what is wrong and what is allowed."""


class RunConfig(BaseModel):
    """Everything a run needs besides the code; written resolved into the run directory."""

    model_config = ConfigDict(extra="forbid")

    graph: str = Field("", description="Registered graph to run (see `valuegraph run --help`).")
    run_id: str | None = Field(None, description="Run directory name; generated when unset.")
    runs_dir: Path = Field(Path("runs"), description="Where run directories are created.")
    models: dict[str, str] = Field(
        default_factory=lambda: {role: "local" for role in ROLES},
        description="Model spec per role: attacker, target, judge, optimizer.",
    )
    api_bases: dict[str, str] = Field(
        default_factory=dict, description="Server address per model spec (vLLM, llama.cpp); "
        "a list (or comma-separated addresses) spreads requests over replicas.")
    budget: int | None = Field(
        None, description="Most model requests the run may send, over all its processes "
                          "(cache hits are free; None: unbounded).")
    concurrency: int | None = Field(
        None, description="Graph runs in flight at once; None or 'auto' (default): adaptive, "
        "from 4 up while request latency holds, halved on rate limits.")
    seed: int = Field(0, description="Seed for sampling and any shuffling.")
    cache: bool = Field(True, description="Use the persistent completion cache.")
    servers: str | dict[str, Any] | None = Field(
        None, description="Model servers the run starts, keeps up and stops (a servers config "
        "file or mapping, see docs/scale.md); their specs need no api_bases.")
    checkpointer: str = Field(
        "sqlite", description="'sqlite' (in the run directory) or a postgresql:// URL.")
    item_bank: str | None = Field(
        None, description="Chroma server URL (http://host:port); None: embedded in the run.")
    params: dict[str, Any] = Field(
        default_factory=dict, description="Graph hyperparameters (see the graph's context).")

    @field_validator("budget")
    @classmethod
    def _budget_non_negative(cls, value: int | None) -> int | None:
        if value is not None and value < 1:
            raise ValueError(f"budget must be >= 1 model requests or none, got {value}")
        return value

    @field_validator("api_bases", mode="before")
    @classmethod
    def _join_replicas(cls, value: Any) -> Any:
        if not isinstance(value, Mapping):
            return value
        return {spec: ",".join(str(b).strip() for b in bases) if isinstance(bases, list | tuple)
                else bases for spec, bases in value.items()}

    @field_validator("concurrency", mode="before")
    @classmethod
    def _concurrency_auto(cls, value: Any) -> Any:
        return None if isinstance(value, str) and value.strip().lower() == "auto" else value

    @field_validator("concurrency")
    @classmethod
    def _concurrency_positive(cls, value: int | None) -> int | None:
        if value is not None and value < 1:
            raise ValueError(f"concurrency must be >= 1 or 'auto', got {value}")
        return value

    @field_validator("models")
    @classmethod
    def _known_roles(cls, value: dict[str, str]) -> dict[str, str]:
        unknown = sorted(set(value) - set(ROLES))
        if unknown:
            raise ValueError(f"unknown role(s) {unknown}; allowed roles: {', '.join(ROLES)}")
        return {**{role: "local" for role in ROLES}, **value}

    @field_validator("checkpointer")
    @classmethod
    def _checkpointer_kind(cls, value: str) -> str:
        if value != "sqlite" and not value.startswith(("postgres://", "postgresql://")):
            raise ValueError(f"checkpointer must be 'sqlite' or a postgresql:// URL, got {value!r}")
        return value


CONFIG_SUFFIXES = (".yaml", ".yml", ".toml")


def read_config_file(path: str | Path) -> dict[str, Any]:
    """Load a YAML (.yaml/.yml) or TOML (.toml) mapping: the one config-file reader (run
    configs and training configs).

    Raises:
        ConfigError: wrong suffix, missing, a directory, unreadable, not UTF-8, malformed, or
            not a mapping.
    """
    path = Path(path)
    if path.suffix not in CONFIG_SUFFIXES:
        raise ConfigError(f"config file {path} must end in .yaml, .yml or .toml")
    if path.is_dir():
        raise ConfigError(f"config file {path} is a directory")
    try:
        text = path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise ConfigError(f"config file {path} not found") from None
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"config file {path} is not UTF-8 text (bad byte at offset "
                          f"{exc.start})") from None
    try:
        data = tomllib.loads(text) if path.suffix == ".toml" else yaml.safe_load(text)
    except (yaml.YAMLError, tomllib.TOMLDecodeError) as exc:
        first = " ".join(str(exc).split())[:200]
        raise ConfigError(f"malformed config file {path}: {first}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path} must hold a mapping of settings, "
                          f"not a {type(data).__name__}")
    return data


def parse_overrides(pairs: list[str]) -> dict[str, Any]:
    """``["models.target=hf/x", "budget=10"]`` -> nested dict; values parsed as YAML scalars."""
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--set expects key=value (dotted keys for nesting), got {pair!r}")
        try:
            value = yaml.safe_load(raw) if raw.strip() else ""
        except yaml.YAMLError:
            value = raw
        if isinstance(value, str) and value.lower() in ("none", "null"):
            value = None
        _set_dotted(out, key.strip(), value)
    return out


def env_settings(env: Mapping[str, str]) -> dict[str, Any]:
    """Top-level fields given as ``VALUEGRAPH_<FIELD>`` environment variables."""
    out: dict[str, Any] = {}
    for name in RunConfig.model_fields:
        raw = env.get(ENV_PREFIX + name.upper())
        if raw is not None:
            try:
                out[name] = yaml.safe_load(raw)
            except yaml.YAMLError:
                raise ConfigError(f"environment variable {ENV_PREFIX + name.upper()} is not a "
                                  f"valid value: {raw[:80]!r}") from None
    return out


def resolve_config(
    explicit: Mapping[str, Any] | None = None,
    file: str | Path | None = None,
    env: Mapping[str, str] | None = None,
) -> RunConfig:
    """Merge the sources by precedence and validate.

    Raises:
        ConfigError: unreadable or malformed file, unknown field, or an invalid value.
    """
    merged: dict[str, Any] = {}
    for layer in (
        env_settings(os.environ if env is None else env),
        read_config_file(file) if file is not None else {},
        dict(explicit or {}),
    ):
        _deep_merge(merged, layer)
    return validate_config(merged)


def validate_config(data: Mapping[str, Any], source: str = "") -> RunConfig:
    """A RunConfig from a mapping.

    Raises:
        ConfigError: one line naming the first bad setting (and ``source``, when given).
    """
    try:
        return RunConfig.model_validate(dict(data))
    except ValidationError as exc:
        message = _one_line(exc)
        raise ConfigError(f"{source}: {message}" if source else message) from None


def _one_line(exc: ValidationError) -> str:
    err = exc.errors()[0]
    where = ".".join(str(p) for p in err["loc"]) or "config"
    if err["type"] == "extra_forbidden":
        allowed = ", ".join(RunConfig.model_fields)
        return f"unknown setting {where!r}; allowed settings: {allowed}"
    message = str(err["msg"]).removeprefix("Value error, ")
    return f"invalid setting {where}: {message}"


def _set_dotted(target: dict[str, Any], dotted: str, value: Any) -> None:
    parts = dotted.split(".")
    for part in parts[:-1]:
        target = target.setdefault(part, {})
        if not isinstance(target, dict):
            raise ConfigError(f"--set {dotted}: {part!r} is not a mapping")
    target[parts[-1]] = value


def _deep_merge(base: dict[str, Any], layer: Mapping[str, Any]) -> None:
    for key, value in layer.items():
        if isinstance(value, Mapping) and isinstance(base.get(key), dict):
            _deep_merge(base[key], value)
        else:
            base[key] = dict(value) if isinstance(value, Mapping) else value
