"""Replicas of one self-hosted model behind one spec, balanced by the pool itself."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from valuegraph.tools.backends.http1 import Http1Client, HTTPConnectionError
from valuegraph.tools.backends.litellm_backend import OpenAIServerBackend
from valuegraph.tools.balancer import Balancer, Replica
from valuegraph.tools.limits import AdaptiveLimiter
from valuegraph.tools.specs import ModelSpec
from valuegraph.tools.types import BackendError


class BalancedServerBackend(OpenAIServerBackend):
    """:class:`OpenAIServerBackend` over several replicas (:class:`~valuegraph.tools.balancer.
    Balancer`: least outstanding requests).

    A request whose connection fails (a replica killed or restarting) goes at once to another
    replica, without the pool's back-off; when no replica is available it waits for one (up to
    ``failover_wait`` seconds) before failing with a retryable error, so a whole fleet
    restarting costs the pool's retries rather than the run.

    Args:
        health: ``base -> (() -> bool)`` from the :class:`~valuegraph.tools.servers.Fleet` that
            owns the servers, or None for servers run by someone else.
    """

    failover_wait = 30.0

    def __init__(self, spec: ModelSpec, *, max_concurrency: int | None = None,
                 timeout: float = 120.0,
                 health: Callable[[str], Callable[[], bool] | None] | None = None):
        bases = spec.api_bases
        self.balancer = Balancer(bases, health=health)
        self._by_base: dict[str, Http1Client] = {}
        super().__init__(spec, max_concurrency=max_concurrency, timeout=timeout)
        self._by_base = {base: self._client_for(base) for base in bases}
        # the fixed default limit is per server: a fleet of N takes N times as many requests
        self.limiter = AdaptiveLimiter(max_concurrency or 256 * len(bases))

    def _client_for(self, api_base: str) -> Http1Client:
        return super()._client_for(api_base.split(",")[0])

    def _clients(self) -> list[Http1Client]:
        return list(getattr(self, "_by_base", {}).values())

    async def aclose(self) -> None:
        for client in self._by_base.values():
            await client.aclose()

    async def _post(self, body: bytes) -> tuple[int, bytes]:
        tried: set[str] = set()
        while True:
            replica = await self._available(tried)
            replica.outstanding += 1
            try:
                answer = await self._by_base[replica.base].post(body)
            except HTTPConnectionError as exc:
                self.balancer.failed(replica)
                tried.add(replica.base)
                if len(tried) >= len(self.balancer.replicas):
                    raise BackendError(f"{self.spec}: every replica failed; last: {exc}",
                                       retryable=True) from exc
                continue
            except TimeoutError as exc:
                raise BackendError(f"{self.spec}: Timeout after {self.timeout}s at "
                                   f"{replica.base}", retryable=True, status=408) from exc
            finally:
                replica.outstanding -= 1
            self.balancer.succeeded(replica)
            return answer

    async def _available(self, tried: set[str]) -> Replica:
        """A replica not tried yet, waiting while none is available."""
        deadline = time.monotonic() + self.failover_wait
        while True:
            replica = self.balancer.pick(tried)
            if replica is not None:
                return replica
            if time.monotonic() >= deadline:
                raise BackendError(f"{self.spec}: no replica available for "
                                   f"{self.failover_wait:.0f}s", retryable=True, status=503)
            wait = self.balancer.next_available_in()
            await asyncio.sleep(min(0.5, max(0.05, wait)))
