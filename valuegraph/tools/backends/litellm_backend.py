"""API providers and OpenAI-compatible servers (vLLM, llama.cpp server) through litellm."""

from __future__ import annotations

import logging
import os
from typing import Any

from valuegraph.tools.limits import AdaptiveLimiter
from valuegraph.tools.specs import ModelSpec
from valuegraph.tools.types import (
    BackendError,
    Completion,
    Message,
    NotSupportedError,
    SamplingParams,
    TokenLogprob,
)

log = logging.getLogger(__name__)

# Status codes worth another try: rate limits, server faults, gateway timeouts.
RETRYABLE_STATUS = {408, 409, 425, 429, 500, 502, 503, 504, 520, 522, 524, 529}


def _litellm() -> Any:
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import litellm

    litellm.suppress_debug_info = True
    litellm.telemetry = False
    return litellm


class LiteLLMBackend:
    """One litellm model. Self-hosted servers get a wide fixed limit, APIs an adaptive one."""

    supports_loglik = False

    def __init__(
        self, spec: ModelSpec, *, max_concurrency: int | None = None, timeout: float = 120.0
    ):
        self.spec = spec
        self.timeout = timeout
        self._litellm = _litellm() if type(self) is LiteLLMBackend else None
        if spec.self_hosted:
            self.limiter = AdaptiveLimiter(max_concurrency or 256)
        else:
            self.limiter = AdaptiveLimiter(max_concurrency or 64, adaptive=True, initial=8)
        self._cost_known = True

    def _request_kwargs(self, messages: list[Message], n: int, params: SamplingParams) -> dict:
        kwargs: dict[str, Any] = {
            "model": self.spec.text,
            "messages": messages,
            "n": n,
            "temperature": params.temperature,
            "top_p": params.top_p,
            "max_tokens": params.max_tokens,
            "timeout": self.timeout,
            # The pool retries; litellm and the openai client must not retry underneath it.
            "num_retries": 0,
            "max_retries": 0,
        }
        if params.seed is not None:
            kwargs["seed"] = params.seed
        if params.stop:
            kwargs["stop"] = list(params.stop)
        if params.logprobs:
            kwargs["logprobs"] = True
            if params.top_logprobs:
                kwargs["top_logprobs"] = params.top_logprobs
        if self.spec.api_base:
            kwargs["api_base"] = self.spec.api_base
            if self.spec.provider == "openai" and not os.environ.get("OPENAI_API_KEY"):
                kwargs["api_key"] = "none"  # local servers ignore it; the client demands one
        return kwargs

    async def generate(
        self, messages: list[Message], n: int, params: SamplingParams, first_index: int
    ) -> list[Completion]:
        litellm = self._litellm
        try:
            response = await litellm.acompletion(**self._request_kwargs(messages, n, params))
        except Exception as exc:  # noqa: BLE001 - classified below, never swallowed
            raise self._classify(exc) from exc
        return self._parse(response, first_index)

    def _parse(self, response: Any, first_index: int) -> list[Completion]:
        choices = getattr(response, "choices", None)
        if not choices:
            raise BackendError(f"{self.spec}: reply without choices", retryable=True)
        usage = getattr(response, "usage", None)
        prompt_tokens = getattr(usage, "prompt_tokens", 0) or 0
        completion_tokens = getattr(usage, "completion_tokens", 0) or 0
        cost = self.cost(response)
        out = []
        for i, choice in enumerate(choices):
            message = getattr(choice, "message", None)
            text = getattr(message, "content", None)
            if text is None:
                raise BackendError(f"{self.spec}: reply without message content", retryable=True)
            out.append(Completion(
                text=text,
                index=first_index + i,
                finish_reason=getattr(choice, "finish_reason", None),
                logprobs=_parse_logprobs(getattr(choice, "logprobs", None)),
                # Tokens billed for the whole request are attributed to its first sample.
                prompt_tokens=prompt_tokens if i == 0 else 0,
                completion_tokens=completion_tokens if i == 0 else 0,
                spec=self.spec.text,
                cost_usd=cost if i == 0 else 0.0,
            ))
        return out

    def cost(self, response: Any) -> float:
        if not self._cost_known or self._litellm is None:
            return 0.0
        try:
            return float(self._litellm.completion_cost(completion_response=response) or 0.0)
        except Exception:  # noqa: BLE001 - unknown model in the cost map: cost stays 0
            self._cost_known = False
            return 0.0

    def _classify(self, exc: Exception) -> BackendError:
        status = getattr(exc, "status_code", None)
        name = type(exc).__name__
        retryable = (
            status in RETRYABLE_STATUS
            or name in {"Timeout", "APITimeoutError", "APIConnectionError", "APIError",
                        "RateLimitError",
                        "ServiceUnavailableError", "InternalServerError", "JSONDecodeError",
                        "APIResponseValidationError"}
            or isinstance(exc, (TimeoutError, ValueError))
        )
        if name in {"AuthenticationError", "BadRequestError", "NotFoundError",
                    "PermissionDeniedError", "ContextWindowExceededError",
                    "ContentPolicyViolationError", "UnsupportedParamsError"}:
            retryable = False
        if status == 429 or name == "RateLimitError":
            status = 429
        return BackendError(f"{self.spec}: {name}: {str(exc)[:300]}", retryable=retryable,
                            status=status)

    async def loglik(self, prompt: str | list[Message], continuations: list[str]) -> list[float]:
        raise NotSupportedError(
            f"log-likelihood of given continuations is not supported by the litellm backend "
            f"({self.spec}); use hf/<path> or local for scoring"
        )


def _parse_logprobs(raw: Any) -> tuple[TokenLogprob, ...] | None:
    content = getattr(raw, "content", None) if raw is not None else None
    if content is None and isinstance(raw, dict):
        content = raw.get("content")
    if not content:
        return None
    tokens = []
    for item in content:
        get = item.get if isinstance(item, dict) else lambda k, _i=item: getattr(_i, k, None)
        top = {}
        for alt in get("top_logprobs") or []:
            alt_get = alt.get if isinstance(alt, dict) else lambda k, _a=alt: getattr(_a, k)
            top[alt_get("token")] = float(alt_get("logprob"))
        tokens.append(TokenLogprob(token=get("token"), logprob=float(get("logprob")), top=top))
    return tuple(tokens)


class OpenAIServerBackend(LiteLLMBackend):
    """A self-hosted OpenAI-compatible server (vLLM, llama.cpp, ...) over aiohttp.

    litellm adds about 5 ms of CPU per call for these providers, and the openai client's httpx
    connection pool spends time proportional to its open connections on every request (both
    measured with ``bench/pool_overhead.py``); against a vLLM server with hundreds of requests in
    flight that caps throughput. The chat-completions protocol is small, so this backend posts
    the same request body with one aiohttp session per event loop and parses the reply with the
    same rules as :class:`LiteLLMBackend`. ``ModelPool(server_client="litellm")`` routes servers
    through litellm instead.
    """

    def __init__(self, spec: ModelSpec, *, max_concurrency: int | None = None,
                 timeout: float = 120.0):
        super().__init__(spec, max_concurrency=max_concurrency, timeout=timeout)
        self._url = (spec.api_base or "").rstrip("/") + "/chat/completions"
        self._sessions: dict[int, tuple[Any, Any]] = {}
        key = os.environ.get("OPENAI_API_KEY") if spec.provider == "openai" else None
        self._headers = {"Content-Type": "application/json"}
        if key:
            self._headers["Authorization"] = f"Bearer {key}"

    def _session(self) -> Any:
        """One session per event loop: a connection pool cannot cross loops."""
        import asyncio

        import aiohttp

        loop = asyncio.get_running_loop()
        held = self._sessions.get(id(loop))
        if held is None or held[0] is not loop or held[1].closed:
            connector = aiohttp.TCPConnector(limit=self.limiter.max_limit)
            session = aiohttp.ClientSession(
                connector=connector, headers=self._headers,
                timeout=aiohttp.ClientTimeout(total=self.timeout))
            self._sessions = {id(loop): (loop, session)}  # sessions of closed loops are dropped
            return session
        return held[1]

    async def aclose(self) -> None:
        for _, session in self._sessions.values():
            await session.close()
        self._sessions = {}

    async def generate(
        self, messages: list[Message], n: int, params: SamplingParams, first_index: int
    ) -> list[Completion]:
        import json

        import aiohttp

        body = self._request_kwargs(messages, n, params)
        for key in ("num_retries", "max_retries", "api_base", "api_key", "timeout"):
            body.pop(key, None)
        body["model"] = self.spec.model
        try:
            async with self._session().post(self._url, json=body) as response:
                text = await response.text()
                status = response.status
        except TimeoutError as exc:
            raise BackendError(f"{self.spec}: Timeout after {self.timeout}s", retryable=True,
                               status=408) from exc
        except aiohttp.ClientError as exc:
            raise BackendError(f"{self.spec}: {type(exc).__name__}: {exc}", retryable=True) from exc
        if status >= 400:
            raise BackendError(f"{self.spec}: HTTP {status}: {text[:300]}",
                               retryable=status in RETRYABLE_STATUS, status=status)
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise BackendError(f"{self.spec}: malformed reply body: {text[:120]!r}",
                               retryable=True) from exc
        return self._parse(_Reply(data), first_index)


class _Reply:
    """Attribute access over a JSON reply, so one parser serves litellm objects and dicts."""

    __slots__ = ("_data",)

    def __init__(self, data: Any):
        self._data = data

    def __getattr__(self, name: str) -> Any:
        if not isinstance(self._data, dict):
            return None
        value = self._data.get(name)
        if isinstance(value, dict):
            return _Reply(value)
        if isinstance(value, list):
            return [_Reply(v) if isinstance(v, dict) else v for v in value]
        return value
