"""The model pool: one async API over every backend, with caching, retries and accounting.

    pool = ModelPool(cache_dir=run.cache_dir)
    replies = await pool.generate("local", [{"role": "user", "content": "Hi"}], n=3, role="target")
    scores = await pool.loglik("local", "The capital of France is", [" Paris", " Berlin"])
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
import warnings
from collections.abc import Awaitable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

from valuegraph.tools.backends.base import Backend
from valuegraph.tools.cache import CompletionCache, cache_key
from valuegraph.tools.secrets import redact_text, secret_values
from valuegraph.tools.specs import ModelSpec, SpecError, join_bases, parse_spec
from valuegraph.tools.types import (
    BackendError,
    Completion,
    Message,
    NotSupportedError,
    SamplingParams,
)
from valuegraph.tools.usage import UsageLedger, charge

log = logging.getLogger(__name__)
T = TypeVar("T")

SERVER_CLIENTS = ("direct", "litellm")
"""How the pool talks to self-hosted OpenAI-compatible servers (``server_client``)."""


def server_client_name(value: str) -> str:
    """The server client's name, with the old name ``"openai"`` accepted for ``"direct"``
    (it never meant the openai package: the requests go through valuegraph's own HTTP client).

    Raises:
        ValueError: not one of ``direct``, ``litellm`` (or ``openai``).
    """
    if value == "openai":
        warnings.warn("server_client='openai' is deprecated: it is called 'direct' now (the "
                      "requests never went through the openai client)", DeprecationWarning,
                      stacklevel=3)
        return "direct"
    if value not in SERVER_CLIENTS:
        raise ValueError(f"server_client must be 'direct' or 'litellm', got {value!r}")
    return value


def to_openai_messages(messages: Sequence[Any]) -> list[Message]:
    """Accept OpenAI-style dicts or langchain-core messages; return plain dicts."""
    if all(isinstance(m, dict) for m in messages):
        return list(messages)
    from langchain_core.messages import convert_to_openai_messages

    return list(convert_to_openai_messages(list(messages)))


class ModelPool:
    """Resolves specs to backends and serves generation and log-likelihood requests.

    Args:
        cache_dir: Directory of the persistent completion cache; None disables caching.
        max_attempts: Tries per request (the first included) on retryable failures.
        retry_wait: First back-off in seconds; doubles each retry (with jitter), capped at 30 s.
        api_bases: Server address per spec (``{"hosted_vllm/llama": "http://host:8000/v1"}``);
            a list (or comma-separated addresses) names replicas of one model, and requests
            go to the replica with the fewest outstanding (:mod:`valuegraph.tools.balancer`).
        concurrency: Limit per spec, overriding each backend's default.
        timeout: Per-request timeout in seconds for API backends.
        server_client: "direct" (default) posts requests to self-hosted OpenAI-compatible
            servers with valuegraph's lean HTTP/1.1 client; "litellm" routes them through
            litellm. The old name "openai" for "direct" still works, with a warning.
        servers: Servers this pool starts and owns (a :class:`~valuegraph.tools.servers.
            ServersConfig`, a mapping of one, or a path to its YAML/TOML file): started now,
            their addresses added to ``api_bases``, restarted when they crash, stopped by
            :meth:`close`.
    """

    def __init__(
        self,
        cache_dir: str | Path | None = None,
        *,
        max_attempts: int = 6,
        retry_wait: float = 0.5,
        api_bases: dict[str, str] | None = None,
        concurrency: dict[str, int] | None = None,
        timeout: float = 120.0,
        server_client: str = "direct",
        servers: Any = None,
    ):
        self.server_client = server_client_name(server_client)
        self.cache = CompletionCache(cache_dir) if cache_dir is not None else None
        self.max_attempts = max_attempts
        self.retry_wait = retry_wait
        self.api_bases: dict[str, str] = {
            spec: base for spec, base in ((s, join_bases(b)) for s, b in
                                          (api_bases or {}).items()) if base}
        self.concurrency = dict(concurrency or {})
        self.timeout = timeout
        self.usage = UsageLedger()
        self._backends: dict[tuple[str, str | None], Backend] = {}
        self._secrets = secret_values()
        self._routes: dict[tuple[str, str | None], tuple[Backend, str | None]] = {}
        self._flying: dict[str, int] = {}
        self._resend: set[str] = set()
        self.resent = 0
        """Requests sent for samples that an earlier process had in flight when it stopped
        (see :meth:`expect_resent`)."""
        self.observers: list[Any] = []
        """Watchers of request latency (``observe(key, seconds)``, ``rate_limited()``), such as
        the runner's adaptive graph concurrency (:class:`~valuegraph.tools.limits.
        LatencyConcurrency`)."""
        self.servers: Any = None
        if servers is not None:
            self.start_servers(servers)

    def start_servers(self, config: Any) -> Any:
        """Start the servers of ``config`` (see ``servers`` above), wait until they answer,
        and route their specs to them; returns the :class:`~valuegraph.tools.servers.Fleet`.

        Raises:
            ConfigError: an invalid servers config.
            ServerError: a server did not start.
        """
        from valuegraph.tools.servers import Fleet, load_servers

        if self.servers is not None:
            raise RuntimeError("this pool already owns servers; close it first")
        fleet = Fleet(load_servers(config))
        fleet.start()
        self.servers = fleet
        for spec, bases in fleet.api_bases().items():
            self.api_bases[spec] = ",".join(bases)
        return fleet

    def configure(self, *, request_timeout: float | None = None, retry_wait: float | None = None,
                  max_attempts: int | None = None) -> None:
        """Set the retry and timeout policy (backends already created take the new timeout)."""
        if retry_wait is not None:
            self.retry_wait = retry_wait
        if max_attempts is not None:
            self.max_attempts = max_attempts
        if request_timeout is not None:
            self.timeout = request_timeout
            for backend in self._backends.values():
                if hasattr(backend, "timeout"):
                    backend.timeout = request_timeout

    def refresh_secrets(self) -> None:
        """Re-read the secret values to scrub from replies (taken from the environment when
        the pool was made)."""
        self._secrets = secret_values()

    def scrub(self, completion: Completion) -> Completion:
        """The completion with any secret value masked: a server that echoes the
        Authorization header must not get the key into caches, checkpoints or item banks."""
        if self._secrets and any(s in completion.text for s in self._secrets):
            return replace(completion, text=redact_text(completion.text, self._secrets))
        return completion

    # -- requests in flight ----------------------------------------------------------------

    def in_flight(self) -> list[str]:
        """Cache keys of the samples whose requests are out now (cached pools only): a run
        records them periodically, so a resumed run can tell which requests it sends again."""
        return list(self._flying)

    def expect_resent(self, keys: Sequence[str]) -> None:
        """Keys an earlier process had in flight when it stopped: a request sent for one of
        them (its reply never reached the cache) is counted in :attr:`resent`."""
        self._resend.update(keys)

    # -- resolution ------------------------------------------------------------------------

    def resolve(self, spec: str, api_base: str | None = None) -> ModelSpec:
        return parse_spec(spec, join_bases(api_base) or self.api_bases.get(spec))

    def backend(self, spec: str, api_base: str | None = None) -> Backend:
        """The backend for a spec, created on first use (its package imported then)."""
        parsed = self.resolve(spec, api_base)
        key = (parsed.text, parsed.api_base)
        if key not in self._backends:
            self._backends[key] = self._make_backend(parsed)
        return self._backends[key]

    def _make_backend(self, spec: ModelSpec) -> Backend:
        limit = self.concurrency.get(spec.text)
        if spec.provider == "mock":
            from valuegraph.tools.backends.mock_backend import MockBackend

            return MockBackend(spec.model)
        if spec.provider == "local":
            from valuegraph.tools.backends.local_backend import LocalBackend

            return LocalBackend(spec.model or None)
        if spec.provider == "hf":
            from valuegraph.tools.backends.hf_backend import HFBackend

            return HFBackend(spec.model)
        if spec.provider == "classifier":
            raise SpecError(f"{spec.text} is a classifier judge, not a generator; use it as "
                            "the judge (models.judge) of a graph that scores with judges")
        if spec.provider == "vllm":
            raise SpecError(
                "the in-process vLLM engine is not wired into the pool yet; serve the model with "
                "`vllm serve <model>` and use hosted_vllm/<model> with api_base"
            )
        from valuegraph.tools.backends.litellm_backend import LiteLLMBackend, OpenAIServerBackend

        if spec.self_hosted and self.server_client == "direct":
            if len(spec.api_bases) > 1:
                from valuegraph.tools.backends.balanced import BalancedServerBackend

                health = self.servers.health_of if self.servers is not None else None
                return BalancedServerBackend(spec, max_concurrency=limit, timeout=self.timeout,
                                             health=health)
            return OpenAIServerBackend(spec, max_concurrency=limit, timeout=self.timeout)
        if len(spec.api_bases) > 1:
            raise SpecError(f"{spec.text}: several api_bases need server_client='direct' (the "
                            "pool's balancer); litellm takes one address per model")
        return LiteLLMBackend(spec, max_concurrency=limit, timeout=self.timeout)

    # -- generation ------------------------------------------------------------------------

    async def generate(
        self,
        spec: str,
        messages: Sequence[Any],
        *,
        n: int = 1,
        temperature: float = 0.7,
        top_p: float = 1.0,
        max_tokens: int = 256,
        seed: int | None = None,
        logprobs: bool = False,
        top_logprobs: int = 0,
        stop: Sequence[str] = (),
        role: str = "default",
        api_base: str | None = None,
        top_k: int | None = None,
        min_p: float | None = None,
        repetition_penalty: float | None = None,
    ) -> list[Completion]:
        """Sample ``n`` replies to ``messages``; samples already in the cache cost no call.

        ``messages`` may also be a plain string: a raw prompt, sent without any chat template,
        for backends that take one (``hf/``). ``top_k``, ``min_p`` and ``repetition_penalty``
        are sent only when set (see :class:`SamplingParams`).

        Raises:
            BackendError: the backend kept failing after ``max_attempts`` tries.
            NotSupportedError: a raw prompt for a backend that only takes messages.
            ScriptExhaustedError: a ``mock/`` script ran out.
        """
        if n < 1:
            raise ValueError(f"n must be >= 1, got {n}")
        msgs: Any = messages if isinstance(messages, str) else to_openai_messages(messages)
        params = SamplingParams(temperature, top_p, max_tokens, seed, logprobs, top_logprobs,
                                tuple(stop), top_k, min_p, repetition_penalty)
        route = self._routes.get((spec, api_base))
        if route is None:
            route = self._routes[(spec, api_base)] = (self.backend(spec, api_base),
                                                      self.resolve(spec, api_base).cache_base)
        backend, base = route
        if isinstance(msgs, str) and not getattr(backend, "accepts_text_prompt", False):
            raise NotSupportedError(f"{spec}: a raw text prompt needs an in-process backend "
                                    "(hf/<path>); this backend only takes chat messages")
        usage = self.usage.role(role)
        results: dict[int, Completion] = {}
        keys = {}
        if self.cache is not None:
            for index in range(n):
                keys[index] = cache_key(spec, base, msgs, params, index)
                hit = self.cache.get(keys[index])
                if hit is not None:
                    results[index] = replace(hit, cached=True, prompt_tokens=0,
                                             completion_tokens=0, cost_usd=0.0)
            usage.cache_hits += len(results)
            charge(cache_hits=len(results))
        while len(results) < n:
            missing = [i for i in range(n) if i not in results]
            flying = [keys[i] for i in missing] if keys else []
            for key in flying:
                self._flying[key] = self._flying.get(key, 0) + 1
            if self._resend and not self._resend.isdisjoint(flying):
                self._resend.difference_update(flying)
                self.resent += 1
            try:
                fresh = await self._call_with_retries(backend, spec, msgs, missing, params, role)
            finally:
                for key in flying:
                    if self._flying[key] == 1:
                        del self._flying[key]
                    else:
                        self._flying[key] -= 1
            for index, completion in zip(missing, fresh, strict=False):
                completion = self.scrub(_with_index(completion, index, spec))
                results[index] = completion
                if self.cache is not None:
                    key = keys.get(index) or cache_key(spec, base, msgs, params, index)
                    self.cache.put(key, completion)
        usage.samples += n
        return [results[i] for i in range(n)]

    async def _call_with_retries(
        self, backend: Backend, spec: str, msgs: list[Message], missing: list[int],
        params: SamplingParams, role: str,
    ) -> list[Completion]:
        usage = self.usage.role(role)
        observers = self.observers
        for attempt in range(1, self.max_attempts + 1):
            started = time.perf_counter() if observers else 0.0
            try:
                async with backend.limiter.slot():
                    usage.calls += 1
                    charge(requests=1)
                    fresh = await backend.generate(msgs, len(missing), params, missing[0])
                backend.limiter.record_success()
                if observers:
                    self._observed((spec, role, params.max_tokens, len(missing)), started)
            except BackendError as exc:
                if self._secrets:  # error bodies may echo the request's headers
                    exc.args = (redact_text(str(exc), self._secrets), *exc.args[1:])
                if exc.status == 429:
                    backend.limiter.record_rate_limited()
                    for observer in observers:
                        observer.rate_limited()
                if not exc.retryable or attempt == self.max_attempts:
                    usage.errors += 1
                    raise
                usage.retries += 1
                delay = min(30.0, self.retry_wait * 2 ** (attempt - 1)) * (0.5 + random.random())
                log.warning("%s: %s; retry %d/%d in %.2fs", spec, exc, attempt,
                            self.max_attempts - 1, delay)
                await asyncio.sleep(delay)
                continue
            if not fresh:
                raise BackendError(f"{spec}: backend returned no completions", retryable=False)
            for c in fresh:
                usage.prompt_tokens += c.prompt_tokens
                usage.completion_tokens += c.completion_tokens
                usage.cost_usd += c.cost_usd
            return fresh
        raise AssertionError("unreachable")  # the loop returns or raises

    def _observed(self, key: tuple[Any, ...], started: float) -> None:
        seconds = time.perf_counter() - started
        for observer in self.observers:
            observer.observe(key, seconds)

    # -- scoring ---------------------------------------------------------------------------

    def supports_loglik(self, spec: str, api_base: str | None = None) -> bool:
        return bool(getattr(self.backend(spec, api_base), "supports_loglik", False))

    async def loglik(
        self, spec: str, prompt: str | Sequence[Any], continuations: Sequence[str], *,
        role: str = "default", api_base: str | None = None,
    ) -> list[float]:
        """Summed log-probability of each continuation after ``prompt`` (text or messages).

        Raises:
            NotSupportedError: the backend cannot score given continuations.
        """
        backend = self.backend(spec, api_base)
        if not backend.supports_loglik:
            raise NotSupportedError(f"log-likelihood is not supported by the backend of {spec}")
        prompt_value: str | list[Message] = (
            prompt if isinstance(prompt, str) else to_openai_messages(prompt)
        )
        usage = self.usage.role(role)
        scores: dict[int, float] = {}
        keys = {}
        base = self.resolve(spec, api_base).cache_base
        if self.cache is not None:
            for i, cont in enumerate(continuations):
                keys[i] = cache_key(spec, base, [{"loglik": prompt_value}], SamplingParams(), 0)
                keys[i] += ":" + cache_key(cont, None, [], SamplingParams(), 0)
                value = self.cache.get_value(keys[i])
                if value is not None:
                    scores[i] = float(value)
            usage.cache_hits += len(scores)
            charge(cache_hits=len(scores))
        todo = [i for i in range(len(continuations)) if i not in scores]
        if todo:
            started = time.perf_counter() if self.observers else 0.0
            async with backend.limiter.slot():
                usage.calls += 1
                charge(requests=1)
                fresh = await backend.loglik(prompt_value, [continuations[i] for i in todo])
            if self.observers:
                self._observed((spec, role, "loglik", len(todo)), started)
            for i, value in zip(todo, fresh, strict=True):
                scores[i] = value
                if self.cache is not None:
                    self.cache.put_value(keys[i], value)
        return [scores[i] for i in range(len(continuations))]

    # -- LangChain -------------------------------------------------------------------------

    def chat_model(self, spec: str, *, role: str = "default", **params: Any) -> Any:
        """A langchain-core chat model that routes through this pool (cache, retries, usage)."""
        from valuegraph.tools.chat_model import PoolChatModel

        return PoolChatModel(pool=self, spec=spec, role=role, params=params)

    async def aclose(self) -> None:
        """Close HTTP sessions bound to the running event loop (call before the loop ends)."""
        for backend in self._backends.values():
            closer = getattr(backend, "aclose", None)
            if closer is not None:
                await closer()

    def close(self) -> None:
        """Close the cache and stop the servers this pool owns."""
        if self.cache is not None:
            self.cache.close()
        if self.servers is not None:
            self.servers.stop()
            self.servers = None


async def closing(pool: ModelPool, work: Awaitable[T]) -> T:
    """Await ``work``, then close the pool's connections, which belong to the running loop:
    ``asyncio.run(closing(pool, main()))``."""
    try:
        return await work
    finally:
        await pool.aclose()


def _with_index(completion: Completion, index: int, spec: str) -> Completion:
    if completion.index == index and completion.spec:
        return completion
    return replace(completion, index=index, spec=completion.spec or spec)
