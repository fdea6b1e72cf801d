"""Row-oriented user inputs (JSONL or CSV) read with 1-based line numbers, so that validation
errors can name the line to fix."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

FORMATS = (".jsonl", ".csv")


def read_rows(path: str | Path) -> Iterator[tuple[int, dict[str, Any] | str]]:
    """Yield ``(line, row)`` for each non-blank row; ``row`` is a dict, or an error message for
    a row that cannot be read (bad JSON, not an object), so callers can report every bad row.

    CSV rows are keyed by the header line; their line number is the physical line they start on.

    Raises:
        ValueError: the file is missing or its suffix is neither .jsonl nor .csv.
    """
    path = Path(path)
    if path.suffix not in FORMATS:
        raise ValueError(f"{path}: expected a .jsonl or .csv file")
    if not path.is_file():
        raise ValueError(f"{path}: file not found")
    with open(path, encoding="utf-8", newline="") as fh:
        if path.suffix == ".csv":
            reader = csv.DictReader(fh)
            if reader.fieldnames is None:  # reads the header line
                return
            line = reader.line_num + 1
            for row in reader:
                if any((v or "").strip() for v in row.values() if isinstance(v, str)):
                    yield line, {k: v for k, v in row.items() if k is not None}
                line = reader.line_num + 1
            return
        for line, text in enumerate(fh, start=1):
            if not text.strip():
                continue
            try:
                value = json.loads(text)
            except json.JSONDecodeError as exc:
                yield line, f"not valid JSON ({exc.msg})"
                continue
            yield line, value if isinstance(value, dict) else "expected a JSON object"
