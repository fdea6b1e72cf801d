"""Token, call and cost accounting per role."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class RoleUsage:
    """Counters for one role (attacker, target, judge, optimizer, ...)."""

    calls: int = 0
    """Requests sent to the backend (one per request, whatever n; each retry counts): the
    budget unit."""
    cache_hits: int = 0
    """Samples answered by the completion cache."""
    samples: int = 0
    """Samples returned, cached or not."""
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    retries: int = 0
    errors: int = 0
    """Requests that failed after every retry."""


@dataclass
class UsageLedger:
    """Usage per role for one pool; serialisable into run records."""

    roles: dict[str, RoleUsage] = field(default_factory=dict)

    def role(self, name: str) -> RoleUsage:
        if name not in self.roles:
            self.roles[name] = RoleUsage()
        return self.roles[name]

    @property
    def total_calls(self) -> int:
        """Requests sent to backends (the budget unit), all roles."""
        return sum(u.calls for u in self.roles.values())

    @property
    def total_cache_hits(self) -> int:
        return sum(u.cache_hits for u in self.roles.values())

    def to_json(self) -> dict[str, Any]:
        return {name: asdict(u) for name, u in sorted(self.roles.items())}


# -- metering ------------------------------------------------------------------------------

@dataclass
class Meter:
    """Requests sent and cache hits of the work done while it is current (see :func:`metered`).

    The budget unit of every loop is ``requests``: one per request sent to a backend (each try
    of a retried request counts); samples answered by the completion cache are counted apart in
    ``cache_hits`` and cost nothing.
    """

    requests: int = 0
    cache_hits: int = 0
    parent: Meter | None = field(default=None, repr=False)

    def charge(self, requests: int = 0, cache_hits: int = 0) -> None:
        meter: Meter | None = self
        while meter is not None:
            meter.requests += requests
            meter.cache_hits += cache_hits
            meter = meter.parent


_CURRENT: ContextVar[Meter | None] = ContextVar("valuegraph_meter", default=None)


@contextmanager
def metered() -> Iterator[Meter]:
    """Count the model requests made inside the block, tasks it starts included (they copy the
    context, so they share the meter); meters nest (an inner one charges the outer too)."""
    meter = Meter(parent=_CURRENT.get())
    token = _CURRENT.set(meter)
    try:
        yield meter
    finally:
        _CURRENT.reset(token)


def charge(requests: int = 0, cache_hits: int = 0) -> None:
    """Charge the current meter, if any (called by the pool)."""
    meter = _CURRENT.get()
    if meter is not None:
        meter.charge(requests, cache_hits)
