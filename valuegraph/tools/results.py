"""Append-only JSONL of a run's records, on disk before the graph state refers to them.

A crash in the middle of an append leaves a *torn* last line (no newline). Readers skip it (it
was never acknowledged, so nothing refers to it). The writer repairs it when it opens the log:
the fragment is copied to ``<name>.torn-<n>`` and the file is cut back to its last complete
line, so the next record starts on a line of its own. A broken line *inside* the file is not a
crash artefact: reading it raises a :class:`~valuegraph.tools.files.FileError` naming the line.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from valuegraph.tools.files import FileError, append_line, iter_jsonl
from valuegraph.tools.secrets import redact

log = logging.getLogger(__name__)


def _as_dict(record: dict[str, Any] | BaseModel) -> dict[str, Any]:
    if isinstance(record, BaseModel):
        return record.model_dump(mode="json")
    return record


def repair_torn_tail(path: Path) -> Path | None:
    """Cut a torn last line off ``path``, keeping it in ``<name>.torn-<n>``; returns that copy
    (None when the file ends cleanly)."""
    if not path.is_file() or path.stat().st_size == 0:
        return None
    with open(path, "rb+") as fh:
        data = fh.read()
        if data.endswith(b"\n"):
            return None
        cut = data.rfind(b"\n") + 1
        n = 1
        while (copy := path.with_name(f"{path.name}.torn-{n}")).exists():
            n += 1
        copy.write_bytes(data[cut:])
        fh.truncate(cut)
        fh.flush()
        os.fsync(fh.fileno())
    log.warning("%s ended in a torn line (%d bytes, a crash mid-write); cut it off, copy in %s",
                path, len(data) - cut, copy)
    return copy


class ResultLog:
    """One JSON record per line.

    Args:
        path: The JSONL file.
        writer: Open for appending: creates the directory and repairs a torn tail. Readers
            (exports, the viewer, a second process) leave the file as it is.
    """

    def __init__(self, path: str | Path, *, writer: bool = False):
        self.path = Path(path)
        self._lock = threading.Lock()
        self.repaired: Path | None = None
        if writer:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.repaired = repair_torn_tail(self.path)

    def append(self, record: dict[str, Any] | BaseModel) -> dict[str, Any]:
        """Write one record durably (secrets masked): it is on disk when this returns."""
        data = redact(_as_dict(record))
        line = json.dumps(data, ensure_ascii=False, default=str)
        with self._lock:
            append_line(self.path, line)
        return data

    def __iter__(self) -> Iterator[dict[str, Any]]:
        if not self.path.exists():
            return
        for number, value in iter_jsonl(self.path, "results file", skip_torn_tail=True):
            if isinstance(value, str):
                raise FileError(self.path, f"broken record: {value}; the file was edited or "
                                "damaged, fix or remove that line", number)
            yield value

    def read(self) -> list[dict[str, Any]]:
        return list(self)
