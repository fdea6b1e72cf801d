"""The base of every loop's context: run dependencies as a validated, JSON-constructible record.

A loop's ``Context`` is a kw-only pydantic dataclass deriving from :class:`LoopContext`; every
field has a default (the paper's, where it gives one) and a ``description`` that Studio shows.
LangGraph builds it from a plain mapping (Studio, ``langgraph_sdk``, ``ainvoke(context={...})``),
so a wrong type or value is refused there with pydantic's message; the CLI and the runner build
it with :meth:`LoopContext.from_settings`, which turns the first problem into one line naming
the setting and what is allowed.

Run-time objects that cannot be JSON (the model pool with the run's cache, the run's stores)
travel in ``resources``, set by the runner; without it (Studio, quick experiments) a context
uses one process-wide :func:`default_resources`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from types import ModuleType
from typing import Any, ClassVar, Self, TypeVar

from pydantic import ConfigDict, Field, ValidationError
from pydantic.dataclasses import dataclass
from pydantic.json_schema import SkipJsonSchema

from valuegraph.config import ConfigError
from valuegraph.graphs._shared.resources import Resources, default_resources
from valuegraph.tools.pool import ModelPool
from valuegraph.tools.templates import Templates

CONTEXT_CONFIG = ConfigDict(extra="forbid", arbitrary_types_allowed=True)
RoleT = TypeVar("RoleT")


def describe(text: str, default: Any = None, **kwargs: Any) -> Any:
    """A context field with its default and its Studio description."""
    if callable(default):  # list, dict, a lambda: a fresh value per instance
        return Field(default_factory=default, description=text, **kwargs)
    return Field(default=default, description=text, **kwargs)


def one_line(exc: ValidationError, prefix: str = "") -> str:
    """The first problem of a validation error as ``<prefix>: <field>: <message> (got x)``."""
    err = exc.errors()[0]
    where = ".".join(str(p) for p in err["loc"])
    message = str(err["msg"]).removeprefix("Value error, ")
    if err["type"] in ("unexpected_keyword_argument", "extra_forbidden"):
        message = "unknown setting"
    given = err.get("input")
    scalar = isinstance(given, (str, int, float, bool)) or given is None
    shown = f" (got {given!r})" if scalar and where and not err["type"].startswith(
        ("unexpected", "extra", "missing")) else ""
    parts = [p for p in (prefix, where) if p]
    return ": ".join([*parts, message + shown])


@dataclass(kw_only=True, config=CONTEXT_CONFIG)
class LoopContext:
    """Fields every loop shares: servers, seed, request policy, budget, prompt overrides."""

    loop_name: ClassVar[str] = ""
    prompt_module: ClassVar[ModuleType | None] = None
    """The loop's ``prompts`` module (its ``VARIABLES`` name the templates ``prompts`` may
    override)."""

    api_bases: dict[str, str] = describe(
        "Server address per model spec (vLLM, llama.cpp, any OpenAI-compatible server).", dict)
    seed: int = describe(
        "Base seed: every request's seed derives from it, so a run replays from its cache.", 0)
    max_requests: int | None = describe(
        "Most model requests this graph may send (cache hits are free); None: no limit.",
        None, ge=1)
    request_timeout: float | None = describe(
        "Seconds before a request to an API or server times out (and is retried); None: the "
        "pool's default (120).", None, gt=0)
    retry_wait: float | None = describe(
        "First back-off in seconds after a failed request (doubles each try); None: 0.5.",
        None, gt=0)
    max_attempts: int | None = describe(
        "Tries per request, the first included; None: 6.", None, ge=1)
    prompts: dict[str, str] = describe(
        "Prompt overrides: template name -> replacement text or a file path.", dict)
    resources: SkipJsonSchema[Any] = Field(default=None, exclude=True, repr=False)
    """Run-time objects (pool, stores) bound by the runner; None: the process-wide default."""

    def __post_init__(self) -> None:
        if self.prompt_module is not None:  # unknown names, bad placeholders, unreadable files
            Templates.from_module(self.prompt_module, self.prompts)

    # -- settings --------------------------------------------------------------------------

    @classmethod
    def field_names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in dataclasses.fields(cls) if f.name != "resources")

    @classmethod
    def from_settings(cls, values: Mapping[str, Any]) -> Self:
        """Build from settings, naming the first bad one in a one-line ConfigError."""
        unknown = sorted(set(values) - set(cls.field_names()))
        if unknown:
            raise ConfigError(f"{cls.loop_name}: unknown setting(s) {unknown}; allowed: "
                              f"{', '.join(cls.field_names())}")
        try:
            return cls(**values)
        except ValidationError as exc:
            raise ConfigError(one_line(exc, cls.loop_name)) from None
        except ValueError as exc:  # a check in __post_init__ or the templates
            raise ConfigError(f"{cls.loop_name}: {exc}") from None

    # -- run-time objects ------------------------------------------------------------------

    @property
    def res(self) -> Resources:
        return self.resources if self.resources is not None else default_resources()

    @property
    def pool(self) -> ModelPool:
        pool = self.res.pool
        pool.configure(request_timeout=self.request_timeout, retry_wait=self.retry_wait,
                       max_attempts=self.max_attempts)
        return pool

    def api_base(self, spec: str) -> str | None:
        return self.api_bases.get(spec)

    def role(self, role_cls: type[RoleT], spec: str, **sampling: Any) -> RoleT:
        """A role (Attacker, Target, Judge, Optimizer, ...) played by ``spec`` on this run's
        pool; ``sampling`` holds its default sampling parameters."""
        return role_cls(self.pool, spec, sampling=sampling,  # type: ignore[call-arg]
                        api_base=self.api_base(spec))

    def templates(self) -> Templates:
        """The loop's prompt templates with this run's overrides applied."""
        if self.prompt_module is None:
            raise TypeError(f"{type(self).__name__} declares no prompt_module")
        return self.res.memo(("templates", type(self), tuple(sorted(
            self.prompts.items()))), lambda: Templates.from_module(self.prompt_module,
                                                                    self.prompts))
