"""Request seeds: stable across runs (so the completion cache replays them) and distinct per
call (so a retried round or another item draws new samples)."""

from __future__ import annotations

import hashlib


def call_seed(base: int, *parts: object) -> int:
    """The seed of one request, from the run's base seed and what makes the call unique
    (item id, round, purpose, ...): a 31-bit integer."""
    key = "|".join(map(str, (base, *parts))).encode()
    return int.from_bytes(hashlib.sha256(key).digest()[:4], "big") >> 1
