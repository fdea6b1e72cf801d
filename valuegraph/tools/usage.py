"""Token, call and cost accounting per role."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class RoleUsage:
    """Counters for one role (attacker, target, judge, optimizer, ...)."""

    calls: int = 0
    """Model calls actually made (one per request sent, whatever n)."""
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
        return sum(u.calls for u in self.roles.values())

    def to_json(self) -> dict[str, Any]:
        return {name: asdict(u) for name, u in sorted(self.roles.items())}
