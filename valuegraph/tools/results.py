"""Append-only JSONL of results, flushed and fsynced before the graph state refers to them."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from valuegraph.tools.secrets import redact


class ResultLog:
    """One JSON record per line. A torn last line (a crash mid-write) is skipped on read."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()

    def append(self, record: dict[str, Any]) -> None:
        """Write one record durably: it is on disk when this returns."""
        line = json.dumps(redact(record), ensure_ascii=False, default=str) + "\n"
        with self._lock, open(self.path, "a", encoding="utf-8") as fh:
            fh.write(line)
            fh.flush()
            os.fsync(fh.fileno())

    def __iter__(self) -> Iterator[dict[str, Any]]:
        if not self.path.exists():
            return
        with open(self.path, encoding="utf-8") as fh:
            for line in fh:
                if not line.endswith("\n"):
                    break  # torn write from a crash: never acknowledged, so never referred to
                yield json.loads(line)

    def read(self) -> list[dict[str, Any]]:
        return list(self)
