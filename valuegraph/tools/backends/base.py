"""The protocol every backend implements."""

from __future__ import annotations

from typing import Protocol

from valuegraph.tools.limits import AdaptiveLimiter
from valuegraph.tools.types import Completion, Message, SamplingParams


class Backend(Protocol):
    """One model behind one spec. The pool adds caching, retries and accounting on top."""

    limiter: AdaptiveLimiter
    supports_loglik: bool

    async def generate(
        self, messages: list[Message], n: int, params: SamplingParams, first_index: int
    ) -> list[Completion]:
        """Sample ``n`` replies; may return fewer (the pool asks again for the rest)."""
        ...

    async def loglik(self, prompt: str | list[Message], continuations: list[str]) -> list[float]:
        """Summed log-probability of each continuation given the prompt."""
        ...


def missing_extra(package: str, extra: str) -> ImportError:
    """The error raised when an optional backend's package is not installed."""
    return ImportError(
        f"this backend needs the package {package!r}: install it with "
        f"pip install 'valuegraph[{extra}]'"
    )
