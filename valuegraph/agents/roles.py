"""A role is a prompt set plus a model spec bound at run time."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from langchain_core.messages import BaseMessage

from valuegraph.tools.pool import ModelPool
from valuegraph.tools.types import Completion


@dataclass
class Role:
    """Base of every role: which model plays it and with which sampling defaults.

    Attributes:
        pool: The model pool that serves the calls.
        spec: Model spec bound to this role for the run.
        sampling: Default sampling parameters (temperature, top_p, max_tokens, seed).
        api_base: Optional server address for the spec.
    """

    role_name: ClassVar[str] = "default"

    pool: ModelPool
    spec: str
    sampling: dict[str, Any] = field(default_factory=dict)
    api_base: str | None = None

    async def complete(self, messages: Sequence[BaseMessage | dict[str, Any]],
                       **params: Any) -> list[Completion]:
        """Sample replies; per-call params override the role's defaults."""
        merged = {**self.sampling, **params}
        return await self.pool.generate(self.spec, messages, role=self.role_name,
                                        api_base=self.api_base, **merged)

    async def ask(self, system: str | None, user: str, **params: Any) -> list[Completion]:
        """Convenience: one optional system message and one user message."""
        messages = [{"role": "system", "content": system}] if system else []
        messages.append({"role": "user", "content": user})
        return await self.complete(messages, **params)

    async def loglik(self, prompt: str | Sequence[BaseMessage | dict[str, Any]],
                     continuations: Sequence[str]) -> list[float]:
        return await self.pool.loglik(self.spec, prompt, continuations, role=self.role_name,
                                      api_base=self.api_base)

    def supports_loglik(self) -> bool:
        return self.pool.supports_loglik(self.spec, self.api_base)

    def chat_model(self) -> Any:
        """This role's model as a langchain-core chat model (through the pool)."""
        return self.pool.chat_model(self.spec, role=self.role_name, **self.sampling)


class Attacker(Role):
    """Writes and rewrites prompts or questions."""

    role_name = "attacker"


class Target(Role):
    """The model under study."""

    role_name = "target"


class Optimizer(Role):
    """Reflects on results and refines."""

    role_name = "optimizer"
