"""User files in, run files out: the one place that reads and writes them.

Reading: every failure (missing, a directory, unreadable, not UTF-8, bad JSON) is a
:class:`FileError` whose message is one line naming the file (and the line, for row files), so
a command can print it and exit 2. Writing: :func:`write_atomic` replaces a file in one step
(readers see the old or the new content, never a half), :func:`append_line` appends a line that
is on disk when it returns.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

ROW_SUFFIXES = (".jsonl", ".csv")
ModelT = TypeVar("ModelT", bound=BaseModel)


class FileError(ValueError):
    """A file that cannot be used; the message is one line naming it (and the line)."""

    def __init__(self, path: str | Path, message: str, line: int | None = None):
        where = f"{path}:{line}" if line is not None else str(path)
        super().__init__(f"{where}: {message}")
        self.path = Path(path)
        self.line = line


def read_text(path: str | Path, what: str = "file") -> str:
    """The UTF-8 text of a file.

    Raises:
        FileError: missing, a directory, unreadable, or not UTF-8 text.
    """
    path = Path(path)
    if path.is_dir():
        raise FileError(path, f"is a directory; expected a {what}")
    if not path.exists():
        raise FileError(path, f"{what} not found")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise FileError(path, f"cannot read {what}: {exc.strerror or exc}") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise FileError(path, f"{what} is not UTF-8 text (bad byte at offset {exc.start})"
                        ) from None


Row = tuple[int, dict[str, Any] | str]
"""A line number and the object on that line, or what is wrong with the line."""


def iter_jsonl(path: str | Path, what: str = "JSONL file", *,
               skip_torn_tail: bool = False) -> Iterator[Row]:
    """``(line, object)`` for each non-blank line; ``object`` is the problem (a string) for a
    line that is not a JSON object, so callers can report every bad line at once.

    ``skip_torn_tail``: a last line without its newline (a writer killed mid-append, never
    acknowledged) is left out instead of reported.

    Raises:
        FileError: the file cannot be read as UTF-8 text.
    """
    lines = read_text(path, what).split("\n")
    tail = lines.pop()  # "" when the file ends with a newline
    if tail and not skip_torn_tail:
        lines.append(tail)
    for number, text in enumerate(lines, start=1):
        if not text.strip():
            continue
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            yield number, f"not valid JSON ({exc.msg})"
            continue
        yield number, value if isinstance(value, dict) else "expected a JSON object"


def read_rows(path: str | Path, what: str = "file") -> Iterator[Row]:
    """``(line, row)`` of a JSONL or CSV file, as :func:`iter_jsonl`; CSV rows are keyed by the
    header line and numbered by the physical line they start on.

    Raises:
        FileError: unreadable, not UTF-8, or neither .jsonl nor .csv.
    """
    path = Path(path)
    if path.suffix not in ROW_SUFFIXES:
        raise FileError(path, f"expected a .jsonl or .csv {what}")
    if path.suffix == ".jsonl":
        yield from iter_jsonl(path, what)
        return
    reader = csv.DictReader(io.StringIO(read_text(path, what), newline=""))
    if reader.fieldnames is None:
        return
    line = reader.line_num + 1
    for row in reader:
        if any((v or "").strip() for v in row.values() if isinstance(v, str)):
            yield line, {k: v for k, v in row.items() if k is not None}
        line = reader.line_num + 1


def first_error(error: ValidationError) -> str:
    """The first problem of a pydantic error as ``field 'x': message``."""
    detail = error.errors()[0]
    field = ".".join(str(part) for part in detail["loc"]) or "record"
    message = str(detail["msg"]).removeprefix("Value error, ")
    if detail["type"] == "extra_forbidden":
        message = "unknown field"
    return f"field '{field}': {message}"


def read_models(path: str | Path, model: type[ModelT], what: str = "JSONL file",
                *, allow_empty: bool = False) -> list[tuple[int, ModelT]]:
    """Every line of a JSONL file validated as ``model``, with its line number.

    Raises:
        FileError: unreadable file, a bad line (the first one, named), or no records.
    """
    records = []
    for line, obj in iter_jsonl(path, what):
        if isinstance(obj, str):
            raise FileError(path, obj, line)
        try:
            records.append((line, model.model_validate(obj)))
        except ValidationError as error:
            raise FileError(path, first_error(error), line) from None
    if not records and not allow_empty:
        raise FileError(path, "no records")
    return records


def write_atomic(path: str | Path, text: str) -> None:
    """Replace ``path`` with ``text`` in one step (a temporary file, fsync, rename)."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def write_jsonl(path: str | Path, rows: list[dict[str, Any]]) -> Path:
    """Write rows as JSONL atomically, creating parent directories."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, "".join(json.dumps(r, ensure_ascii=False, default=str) + "\n"
                               for r in rows))
    return path


def append_line(path: str | Path, line: str) -> None:
    """Append one line (without its newline) and fsync: it is on disk when this returns."""
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(line + "\n")
        fh.flush()
        os.fsync(fh.fileno())
