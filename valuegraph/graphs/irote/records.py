"""The typed record of one elicited trait (a line of ``results.jsonl``; ``bench traits`` reads
it)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from valuegraph.graphs._shared.records import ItemRecord, register_record_type


@register_record_type
class ReflectionRecord(ItemRecord):
    """IROTE: the best self-reflection for one trait, its scores, lineage and every set."""

    kind: Literal["irote_reflection"] = "irote_reflection"
    status: Literal["ok"] = "ok"
    trait_id: str
    theory: str
    dimension: str
    trait_name: str
    lines: list[str] = Field(min_length=1)
    text: str
    """The lines wrapped in the reflection block, as the target sees them."""
    set_id: str
    iteration: int
    reward: float | None
    evocativeness: float | None
    compactness: float | None
    lineage: list[str]
    sets: list[dict[str, Any]]
    proposals: list[dict[str, Any]]
    round_best: list[float | None]
    rounds: int
    exit_reason: str | None
    requests: int
    """Model requests the trait's graph sent (cache hits are free)."""
    target: str
    optimizer: str
    judge: str
    seed: int
    reward_method: str
    probability_method: str
    items: list[str]
    distractor_turns: list[int]
    line_orders: int
