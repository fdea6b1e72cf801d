"""API providers and OpenAI-compatible servers (vLLM, llama.cpp server) through litellm."""

from __future__ import annotations

import logging
import os
from typing import Any

import orjson

from valuegraph.tools.backends.http1 import Http1Client, HTTPConnectionError
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

    @staticmethod
    def _body(messages: list[Message], n: int, params: SamplingParams) -> dict[str, Any]:
        """The chat-completions request fields that both routes send."""
        body: dict[str, Any] = {"messages": messages, "n": n, "temperature": params.temperature,
                                "top_p": params.top_p, "max_tokens": params.max_tokens}
        if params.seed is not None:
            body["seed"] = params.seed
        if params.stop:
            body["stop"] = list(params.stop)
        if params.logprobs:
            body["logprobs"] = True
            if params.top_logprobs:
                body["top_logprobs"] = params.top_logprobs
        body.update(params.optional())  # vLLM and llama.cpp servers read these from the body
        return body

    def _request_kwargs(self, messages: list[Message], n: int, params: SamplingParams) -> dict:
        body = self._body(messages, n, params)
        optional = {name: body.pop(name) for name in params.optional()}
        kwargs = {"model": self.spec.text, **body,
                  "timeout": self.timeout,
                  # The pool retries; litellm and the openai client must not retry underneath.
                  "num_retries": 0, "max_retries": 0}
        if optional:  # not OpenAI parameters: litellm forwards extra_body as is
            kwargs["extra_body"] = optional
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
        data = response.model_dump() if hasattr(response, "model_dump") else response
        return self._completions(data, first_index, self.cost(response))

    def _completions(self, data: Any, first_index: int, cost: float) -> list[Completion]:
        """Completions from a chat-completions reply body (a dict)."""
        choices = data.get("choices") if isinstance(data, dict) else None
        if not choices:
            raise BackendError(f"{self.spec}: reply without choices", retryable=True)
        usage = data.get("usage") or {}
        prompt_tokens = usage.get("prompt_tokens") or 0
        completion_tokens = usage.get("completion_tokens") or 0
        out = []
        for i, choice in enumerate(choices):
            text = (choice.get("message") or {}).get("content")
            if text is None:
                raise BackendError(f"{self.spec}: reply without message content", retryable=True)
            first = i == 0  # tokens and cost of the whole request go to its first sample
            out.append(Completion(
                text=text, index=first_index + i, finish_reason=choice.get("finish_reason"),
                logprobs=_parse_logprobs(choice.get("logprobs")),
                prompt_tokens=prompt_tokens if first else 0,
                completion_tokens=completion_tokens if first else 0,
                spec=self.spec.text, cost_usd=cost if first else 0.0))
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


def _parse_logprobs(raw: dict[str, Any] | None) -> tuple[TokenLogprob, ...] | None:
    content = raw.get("content") if raw else None
    if not content:
        return None
    return tuple(
        TokenLogprob(token=item["token"], logprob=float(item["logprob"]),
                     top={alt["token"]: float(alt["logprob"])
                          for alt in item.get("top_logprobs") or ()})
        for item in content)


class OpenAIServerBackend(LiteLLMBackend):
    """A self-hosted OpenAI-compatible server (vLLM, llama.cpp, ...) over a lean HTTP client.

    litellm adds about 5 ms of CPU per call for these providers, the openai client's httpx
    connection pool spends time proportional to its open connections on every request, and
    aiohttp about 0.4 ms (all measured with ``bench/pool_overhead.py``); against a vLLM server
    with hundreds of requests in flight that caps throughput. The chat-completions protocol is
    small, so this backend posts the same request body with
    :class:`~valuegraph.tools.backends.http1.Http1Client` and parses the reply with the same
    rules as :class:`LiteLLMBackend`. ``ModelPool(server_client="litellm")`` routes servers
    through litellm instead. (The pool's name for this route is ``server_client="direct"``.)
    """

    def __init__(self, spec: ModelSpec, *, max_concurrency: int | None = None,
                 timeout: float = 120.0):
        super().__init__(spec, max_concurrency=max_concurrency, timeout=timeout)
        self._client = self._client_for(spec.api_base or "")

    @property
    def timeout(self) -> float:
        return self._timeout

    @timeout.setter
    def timeout(self, value: float) -> None:  # the pool's configure() reaches the clients too
        self._timeout = value
        for client in self._clients():
            client.timeout = value

    def _clients(self) -> list[Http1Client]:
        client = getattr(self, "_client", None)
        return [client] if client is not None else []

    def _client_for(self, api_base: str) -> Http1Client:
        key = os.environ.get("OPENAI_API_KEY") if self.spec.provider == "openai" else None
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return Http1Client(api_base.rstrip("/") + "/chat/completions", headers,
                           timeout=self.timeout)

    @property
    def timeout(self) -> float:
        return self._timeout

    @timeout.setter
    def timeout(self, value: float) -> None:
        """A new request policy (``ModelPool.configure``) reaches the HTTP client too."""
        self._timeout = value
        client = getattr(self, "_client", None)
        if client is not None:
            client.timeout = value

    async def aclose(self) -> None:
        await self._client.aclose()

    async def generate(
        self, messages: list[Message], n: int, params: SamplingParams, first_index: int
    ) -> list[Completion]:
        body = {"model": self.spec.model, **self._body(messages, n, params)}
        status, raw = await self._post(orjson.dumps(body))
        if status >= 400:
            raise BackendError(f"{self.spec}: HTTP {status}: {_head(raw, 300)}",
                               retryable=status in RETRYABLE_STATUS, status=status)
        try:
            data = orjson.loads(raw)
        except ValueError as exc:
            raise BackendError(f"{self.spec}: malformed reply body: {_head(raw, 120)!r}",
                               retryable=True) from exc
        return self._completions(data, first_index, 0.0)

    async def _post(self, body: bytes) -> tuple[int, bytes]:
        """POST a request body; the status and the reply body (transport faults raised as
        retryable :class:`BackendError`)."""
        try:
            return await self._client.post(body)
        except TimeoutError as exc:
            raise BackendError(f"{self.spec}: Timeout after {self.timeout}s", retryable=True,
                               status=408) from exc
        except HTTPConnectionError as exc:
            raise BackendError(f"{self.spec}: {exc}", retryable=True) from exc


def _head(raw: bytes, size: int) -> str:
    return raw[:size].decode("utf-8", errors="replace")
