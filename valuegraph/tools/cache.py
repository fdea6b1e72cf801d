"""Persistent completion cache on ``diskcache`` (SQLite underneath).

A request is cached per *sample*: the key is (spec, api_base, messages, sampling parameters,
sample index). Asking again for n=5 samples after n=3 were cached costs only 2 model calls, and a
resumed run replays every completed call from here.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import diskcache

from valuegraph.tools.types import Completion, SamplingParams


def cache_key(
    spec: str, api_base: str | None, messages: list[dict[str, Any]], params: SamplingParams,
    index: int,
) -> str:
    """Stable hex digest of everything that determines one sample."""
    payload = json.dumps(
        [spec, api_base, messages, params.key(), index], sort_keys=True, ensure_ascii=False,
        default=str,
    )
    return hashlib.sha256(payload.encode()).hexdigest()


class CompletionCache:
    """Completions stored on disk, keyed by :func:`cache_key`."""

    def __init__(self, directory: str | Path):
        self.directory = Path(directory)
        self._store = diskcache.Cache(str(self.directory), size_limit=2**36)
        self.hits = 0
        self.misses = 0

    def get(self, key: str) -> Completion | None:
        value = self._store.get(key)
        if value is None:
            self.misses += 1
            return None
        self.hits += 1
        return Completion.from_json(value)

    def put(self, key: str, completion: Completion) -> None:
        self._store.set(key, completion.to_json())

    def get_value(self, key: str) -> Any:
        """Any JSON value stored under ``key`` (log-likelihoods), or None."""
        value = self._store.get("v:" + key)
        if value is None:
            self.misses += 1
        else:
            self.hits += 1
        return value

    def put_value(self, key: str, value: Any) -> None:
        self._store.set("v:" + key, value)

    def __len__(self) -> int:
        return len(self._store)

    def close(self) -> None:
        self._store.close()
