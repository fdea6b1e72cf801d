"""Plain data types shared by the model pool, its backends and the roles."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

Message = dict[str, Any]
"""An OpenAI-style chat message: ``{"role": ..., "content": ...}``.

``content`` is a string, or a list of parts (``{"type": "text", ...}``,
``{"type": "image_url", ...}``) for multimodal backends.
"""


@dataclass(frozen=True, slots=True)
class TokenLogprob:
    """One sampled token with its log-probability and the top alternatives."""

    token: str
    logprob: float
    top: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Completion:
    """One sampled reply.

    Attributes:
        text: The reply text ("" when the backend returned nothing).
        index: Sample index within the request (0..n-1); part of the cache key.
        finish_reason: As reported by the backend ("stop", "length", ...).
        logprobs: Per-token log-probabilities when asked for and supported, else None.
        prompt_tokens: Prompt tokens billed for this sample (0 when served from cache).
        completion_tokens: Completion tokens billed for this sample.
        cached: True when the completion cache answered and no model was called.
        spec: The model spec that produced it.
        cost_usd: Cost of the request attributed to this sample (API backends with known prices).
    """

    text: str
    index: int = 0
    finish_reason: str | None = None
    logprobs: tuple[TokenLogprob, ...] | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached: bool = False
    spec: str = ""
    cost_usd: float = 0.0

    def to_json(self) -> dict[str, Any]:
        """A JSON-serialisable dict (used by the completion cache)."""
        data = asdict(self)
        if self.logprobs is not None:
            data["logprobs"] = [asdict(t) for t in self.logprobs]
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Completion:
        """Inverse of :meth:`to_json`."""
        data = dict(data)
        if data.get("logprobs") is not None:
            data["logprobs"] = tuple(TokenLogprob(**t) for t in data["logprobs"])
        return cls(**data)


@dataclass(frozen=True, slots=True)
class SamplingParams:
    """Sampling parameters of one request; all of them are part of the cache key.

    ``top_k``, ``min_p`` and ``repetition_penalty`` are None unless a caller sets them (then
    they are sent, and keyed); None leaves them out of the key, so earlier cache entries stay
    valid. In-process transformers models treat None as off (top_k 0, no min_p, penalty 1);
    servers and llama.cpp then apply their own defaults.
    """

    temperature: float = 0.7
    top_p: float = 1.0
    max_tokens: int = 256
    seed: int | None = None
    logprobs: bool = False
    top_logprobs: int = 0
    stop: tuple[str, ...] = ()
    top_k: int | None = None
    min_p: float | None = None
    repetition_penalty: float | None = None

    def key(self) -> dict[str, Any]:
        data = asdict(self)
        for name in OPTIONAL_SAMPLING:
            if data[name] is None:
                del data[name]
        return data

    def optional(self) -> dict[str, Any]:
        """The optional settings a caller set (what a server request adds)."""
        return {name: getattr(self, name) for name in OPTIONAL_SAMPLING
                if getattr(self, name) is not None}


OPTIONAL_SAMPLING = ("top_k", "min_p", "repetition_penalty")


class BackendError(RuntimeError):
    """A backend failure. ``retryable`` says whether the pool should try again."""

    def __init__(self, message: str, *, retryable: bool, status: int | None = None):
        super().__init__(message)
        self.retryable = retryable
        self.status = status


class NotSupportedError(RuntimeError):
    """The backend cannot do what was asked (e.g. log-likelihood over an API)."""


class ScriptExhaustedError(RuntimeError):
    """A ``mock/`` model was asked for more replies than its script holds."""
