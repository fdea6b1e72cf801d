"""Reading and validating JSONL inputs with errors that name the file and line."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

RecordT = TypeVar("RecordT", bound=BaseModel)


class DataError(ValueError):
    """A bad input record; the message names the file and the 1-based line number."""

    def __init__(self, path: Path | str, line: int | None, message: str):
        where = f"{path}:{line}" if line is not None else str(path)
        super().__init__(f"{where}: {message}")
        self.path = Path(path)
        self.line = line


def _first_error(error: ValidationError) -> str:
    detail = error.errors()[0]
    field = ".".join(str(part) for part in detail["loc"]) or "record"
    return f"field '{field}': {detail['msg']}"


def iter_jsonl(path: Path | str) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yields ``(line_number, object)`` for each non-blank line of a JSONL file.

    Raises:
        DataError: If the file is missing, a line is not JSON, or a line is not an object.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(path, None, "file not found")
    with path.open(encoding="utf-8") as handle:
        for line_number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as error:
                raise DataError(path, line_number, f"not valid JSON ({error.msg})") from None
            if not isinstance(obj, dict):
                raise DataError(path, line_number, "expected a JSON object")
            yield line_number, obj


def read_records(path: Path | str, model: type[RecordT]) -> list[tuple[int, RecordT]]:
    """Reads a JSONL file and validates every line against ``model``.

    Returns:
        ``(line_number, record)`` pairs in file order.

    Raises:
        DataError: On the first missing or invalid field, or if the file holds no records.
    """
    records = []
    for line_number, obj in iter_jsonl(path):
        try:
            records.append((line_number, model.model_validate(obj)))
        except ValidationError as error:
            raise DataError(path, line_number, _first_error(error)) from None
    if not records:
        raise DataError(path, None, "no records")
    return records


def write_jsonl(path: Path | str, rows: list[dict[str, Any]]) -> None:
    """Writes rows as JSONL (overwriting), creating parent directories."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
