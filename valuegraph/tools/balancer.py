"""Load balancing over replicas of one model: least outstanding requests, with health.

A spec whose ``api_base`` lists several servers (``"http://a:8000/v1,http://b:8000/v1"``, or
a list in the run config) is served by all of them. Each request goes to the healthy replica
with the fewest requests outstanding (ties in turn), which keeps a slower replica, or one busy
with long replies, from collecting a queue while others idle. A replica whose connection fails
is set aside for a cool-down (1 s, doubling up to 30 s while it keeps failing; one success
clears it); a replica the pool's own :class:`~valuegraph.tools.servers.Fleet` reports as
(re)starting is skipped until it answers its health check again.

litellm's ``Router`` does the same job and more (``routing_strategy="least-busy"``, cool-downs),
but it costs the litellm call path: ``bench/balancer.py`` measures it against this balancer on
the same two servers.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class Replica:
    """One server of a balanced model."""

    base: str
    outstanding: int = 0
    """Requests sent and not yet answered."""
    served: int = 0
    """Requests answered (any HTTP status)."""
    failures: int = 0
    """Connection failures in a row."""
    down_until: float = 0.0
    """Monotonic time before which the replica is not picked."""
    health: Callable[[], bool] | None = field(default=None, repr=False)
    """The owner's view (a managed server: False while it is down or restarting)."""

    def available(self, now: float) -> bool:
        return now >= self.down_until and (self.health is None or self.health())


class Balancer:
    """Picks a replica per request: the available one with the fewest outstanding.

    Args:
        bases: The replicas' addresses.
        health: Optional ``base -> (() -> bool)`` from the servers' owner.
        cooldown: Seconds a replica is set aside after its first connection failure.
        max_cooldown: Upper bound of the doubling cool-down.
    """

    def __init__(self, bases: list[str], *,
                 health: Callable[[str], Callable[[], bool] | None] | None = None,
                 cooldown: float = 1.0, max_cooldown: float = 30.0):
        if not bases:
            raise ValueError("a balancer needs at least one server address")
        self.replicas = [Replica(b, health=health(b) if health else None) for b in bases]
        self.cooldown = cooldown
        self.max_cooldown = max_cooldown
        self._turn = 0

    def pick(self, exclude: frozenset[str] | set[str] = frozenset()) -> Replica | None:
        """The available replica with the fewest outstanding requests (None: none is)."""
        now = time.monotonic()
        count = len(self.replicas)
        self._turn = (self._turn + 1) % count
        best: Replica | None = None
        for step in range(count):
            replica = self.replicas[(self._turn + step) % count]
            if replica.base in exclude or not replica.available(now):
                continue
            if best is None or replica.outstanding < best.outstanding:
                best = replica
        return best

    def failed(self, replica: Replica) -> None:
        """The replica's connection failed: set it aside for a (growing) cool-down."""
        replica.failures += 1
        wait = min(self.max_cooldown, self.cooldown * 2 ** (replica.failures - 1))
        replica.down_until = time.monotonic() + wait

    def succeeded(self, replica: Replica) -> None:
        replica.served += 1
        if replica.failures:
            replica.failures, replica.down_until = 0, 0.0

    def next_available_in(self) -> float:
        """Seconds until some replica's cool-down ends (0: one is available now)."""
        now = time.monotonic()
        return max(0.0, min(r.down_until for r in self.replicas) - now)
