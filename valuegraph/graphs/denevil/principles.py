"""Value principles: a rule of thumb and its Moral Foundation.

Schema of a user file, JSONL (one object per line) or CSV (a header line, then one row each):

    id          optional; unique; letters, digits, ``.``, ``_``, ``-`` (derived from the text if
                missing)
    principle   required; the rule of thumb, e.g. "It's wrong to break a promise." (8-300 chars)
    foundation  required; care, fairness, loyalty, authority or sanctity (the full names such as
                "Care/Harm" are accepted too)

Other columns are kept as metadata. Every bad row is reported with its line number.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from valuegraph.config import ConfigError
from valuegraph.tools.files import FileError, read_rows
from valuegraph.values.theories import foundation_code

SEED_FILE = "principles.jsonl"
_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
MAX_REPORTED = 20


@dataclass(frozen=True)
class Principle:
    """One value principle.

    Attributes:
        id: Stable identifier; the graph's thread id and the dataset's lineage key.
        text: The rule of thumb.
        foundation: Moral Foundation code (``MORAL_FOUNDATIONS.codes``).
        metadata: Any extra columns of the input row.
    """

    id: str
    text: str
    foundation: str
    metadata: dict[str, Any] = field(default_factory=dict)


class PrincipleError(ConfigError):
    """A principles file with bad rows; the message lists them with line numbers."""


def seed_principles_path() -> Path:
    """The seed set shipped with valuegraph (at least 10 principles per foundation)."""
    from valuegraph.data import data_path

    return data_path(SEED_FILE)


def _check_row(row: dict[str, Any]) -> tuple[Principle | None, str | None]:
    text = str(row.get("principle") or "").strip()
    raw_foundation = str(row.get("foundation") or "").strip()
    if not text:
        return None, "missing 'principle'"
    if not 8 <= len(text) <= 300:
        return None, f"'principle' must be 8-300 characters, got {len(text)}"
    if not raw_foundation:
        return None, "missing 'foundation'"
    try:
        foundation = foundation_code(raw_foundation)
    except KeyError as exc:
        return None, str(exc.args[0])
    pid = str(row.get("id") or "").strip()
    if not pid:
        pid = f"{foundation}-{hashlib.sha1(text.encode()).hexdigest()[:10]}"
    elif not _ID.match(pid):
        return None, f"'id' {pid!r} must be 1-64 characters of letters, digits, '.', '_', '-'"
    extra = {k: v for k, v in row.items() if k not in ("id", "principle", "foundation")}
    return Principle(pid, text, foundation, extra), None


def load_principles(path: str | Path | None = None) -> list[Principle]:
    """Read and validate a principles file (the seed set when ``path`` is None).

    Raises:
        PrincipleError: unreadable file, no rows, or bad rows (each named by its line number).
    """
    path = Path(path) if path is not None else seed_principles_path()
    principles: list[Principle] = []
    problems: list[str] = []
    first_line: dict[str, int] = {}
    try:
        rows = list(read_rows(path, "principles file"))
    except FileError as exc:
        raise PrincipleError(str(exc)) from None
    for line, row in rows:
        if isinstance(row, str):
            problems.append(f"line {line}: {row}")
            continue
        principle, problem = _check_row(row)
        if principle is None:
            problems.append(f"line {line}: {problem}")
        elif principle.id in first_line:
            problems.append(f"line {line}: duplicate id {principle.id!r} "
                            f"(first on line {first_line[principle.id]})")
        else:
            first_line[principle.id] = line
            principles.append(principle)
    if problems:
        shown = "; ".join(problems[:MAX_REPORTED])
        more = f"; and {len(problems) - MAX_REPORTED} more" if len(problems) > MAX_REPORTED else ""
        raise PrincipleError(f"{path}: {len(problems)} bad row(s): {shown}{more} "
                             "(schema: id?, principle, foundation)")
    if not principles:
        raise PrincipleError(f"{path}: no principles (schema: id?, principle, foundation)")
    return principles


def select_principles(principles: list[Principle], *, foundations: list[str] | None = None,
                      limit: int | None = None) -> list[Principle]:
    """Filter by foundation, then take the first ``limit`` round-robin over foundations, so a
    small limit still covers every foundation."""
    if foundations:
        wanted = {foundation_code(f) for f in foundations}
        principles = [p for p in principles if p.foundation in wanted]
    if limit is None or limit >= len(principles):
        return principles
    by_foundation: dict[str, list[Principle]] = {}
    for p in principles:
        by_foundation.setdefault(p.foundation, []).append(p)
    queues = list(by_foundation.values())
    chosen: list[Principle] = []
    while len(chosen) < limit:
        for queue in queues:
            if queue and len(chosen) < limit:
                chosen.append(queue.pop(0))
    return chosen
