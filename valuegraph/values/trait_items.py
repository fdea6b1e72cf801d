"""Trait items: questionnaire statements, downstream task prompts and seed reflection lines.

valuegraph ships its own short items (``valuegraph/data/trait_items.jsonl``; no published
questionnaire text): for each trait system a form that drives optimisation (``split: train``:
PVQ-, MFQ-1- and BFI-style) and a held-out form for reports (``split: test``: SVS-, MFQ-2- and
BFI-2-style), so a reflection is never tuned on the items it is reported on (spec §6).

Item file schema (JSONL or CSV, one statement per row):

    theory         schwartz | mft | big_five                       (required)
    dimension      a code or name of the theory (SEC, care, O, ...) (required)
    text           the first-person statement                     (required)
    split          train (optimisation) | test (held-out report)   (required)
    reverse        true when agreeing shows *less* of the trait   (default false)
    questionnaire  the form it belongs to                          (default: the file name)
    points         Likert points, answers 1..points                (default 5)
    id             unique id                                       (default <file>-<line>)

Every bad row is reported at once, each named by its line.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from valuegraph.data import data_path
from valuegraph.tools.files import FileError, read_rows
from valuegraph.values.theories import THEORIES, Theory

TRAIT_THEORIES = ("schwartz", "mft", "big_five")
"""The trait systems IROTE elicits (spec §1.7)."""
SPLITS = ("train", "test")
MAX_REPORTED = 10
_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
_TRUE = {"true", "yes", "1", "y", "t"}
_FALSE = {"false", "no", "0", "n", "f", ""}


@dataclass(frozen=True)
class TraitItem:
    """One questionnaire statement."""

    id: str
    theory: str
    dimension: str
    text: str
    split: str
    reverse: bool = False
    questionnaire: str = ""
    points: int = 5

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class TraitTask:
    """One downstream prompt (a value question, a moral scenario, a story opening)."""

    id: str
    theory: str
    task: str
    prompt: str


def theory_of(name: str) -> Theory:
    """The trait system ``name`` (schwartz, mft or big_five).

    Raises:
        KeyError: not a trait system; the message lists the allowed names.
    """
    key = name.strip().lower().replace("-", "_")
    if key not in TRAIT_THEORIES:
        raise KeyError(f"unknown trait system {name!r}; allowed: {', '.join(TRAIT_THEORIES)}")
    return THEORIES[key]


def dimension_code(theory: str, value: str) -> str:
    """The code of a dimension given by code or name (``Security`` -> ``SEC``).

    Raises:
        KeyError: not a dimension of the theory (the message lists the codes).
    """
    system, text = theory_of(theory), value.strip()
    for dim in system.dimensions:
        if text.lower() in (dim.code.lower(), dim.name.lower()):
            return dim.code
    return system.get(text).code  # raises, listing the codes


def _flag(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value if value is not None else "").strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(f"'reverse' must be true or false, got {value!r}")


def _item(row: dict[str, Any], default_id: str, questionnaire: str) -> TraitItem:
    """One validated item; ValueError says what is wrong with the row."""
    text = str(row.get("text") or "").strip()
    if not text:
        raise ValueError("'text' is required")
    theory = str(row.get("theory") or "").strip().lower()
    try:
        theory_of(theory)
        dimension = dimension_code(theory, str(row.get("dimension") or ""))
    except KeyError as exc:
        raise ValueError(exc.args[0]) from None
    split = str(row.get("split") or "").strip().lower()
    if split not in SPLITS:
        raise ValueError(f"'split' must be train (optimisation) or test (held-out report), "
                         f"got {row.get('split')!r}")
    raw_points = row.get("points")
    try:
        points = 5 if raw_points in (None, "") else int(raw_points)
    except (TypeError, ValueError):
        raise ValueError(f"'points' must be a whole number, got {raw_points!r}") from None
    if not 2 <= points <= 11:
        raise ValueError(f"'points' must be between 2 and 11, got {points}")
    item_id = str(row.get("id") or default_id).strip()
    if not _ID.match(item_id):
        raise ValueError(f"'id' {item_id!r} must be 1-64 letters, digits, '.', '_', ':', '-'")
    return TraitItem(item_id, theory, dimension, text, split, _flag(row.get("reverse")),
                     str(row.get("questionnaire") or questionnaire).strip(), points)


def _report(path: Path, problems: list[str], schema: str) -> FileError:
    shown = "; ".join(problems[:MAX_REPORTED])
    more = f"; and {len(problems) - MAX_REPORTED} more" if len(problems) > MAX_REPORTED else ""
    return FileError(path, f"{len(problems)} bad row(s): {shown}{more} (schema: {schema})")


ITEM_SCHEMA = "theory, dimension, text, split, reverse?, questionnaire?, points?, id?"


def load_trait_items(path: str | Path | None = None) -> list[TraitItem]:
    """The items of a JSONL/CSV file (the shipped set when ``path`` is None).

    Raises:
        FileError: unreadable file, no items, or bad rows (every one named by its line).
    """
    path = Path(path) if path is not None else data_path("trait_items.jsonl")
    items: list[TraitItem] = []
    problems: list[str] = []
    first_line: dict[str, int] = {}
    for line, row in read_rows(path, "item file"):
        if isinstance(row, str):
            problems.append(f"line {line}: {row}")
            continue
        try:
            item = _item(row, f"{path.stem}-{line}", path.stem)
        except ValueError as exc:
            problems.append(f"line {line}: {exc}")
            continue
        if item.id in first_line:
            problems.append(f"line {line}: duplicate id {item.id!r} (first on line "
                            f"{first_line[item.id]})")
            continue
        first_line[item.id] = line
        items.append(item)
    if problems:
        raise _report(path, problems, ITEM_SCHEMA)
    if not items:
        raise FileError(path, f"no items (schema: {ITEM_SCHEMA})")
    return items


def select_items(items: Iterable[TraitItem], theory: str, dimension: str | None = None,
                 split: str | None = None) -> list[TraitItem]:
    """The items of one theory (and dimension, and split), in file order."""
    return [i for i in items if i.theory == theory
            and (dimension is None or i.dimension == dimension)
            and (split is None or i.split == split)]


def load_trait_tasks(path: str | Path | None = None) -> list[TraitTask]:
    """Downstream prompts (``id?, theory, prompt, task?``; the shipped set when None).

    Raises:
        FileError: unreadable file, no prompts, or bad rows (each named by its line).
    """
    path = Path(path) if path is not None else data_path("trait_tasks.jsonl")
    tasks, problems, seen = [], [], set()
    for line, row in read_rows(path, "task file"):
        if isinstance(row, str):
            problems.append(f"line {line}: {row}")
            continue
        prompt = str(row.get("prompt") or "").strip()
        theory = str(row.get("theory") or "").strip().lower()
        task_id = str(row.get("id") or f"{path.stem}-{line}")
        if not prompt:
            problems.append(f"line {line}: 'prompt' is required")
        elif theory not in TRAIT_THEORIES:
            problems.append(f"line {line}: unknown trait system {row.get('theory')!r}; "
                            f"allowed: {', '.join(TRAIT_THEORIES)}")
        elif task_id in seen:
            problems.append(f"line {line}: duplicate id {task_id!r}")
        else:
            seen.add(task_id)
            tasks.append(TraitTask(task_id, theory, str(row.get("task") or "task"), prompt))
    if problems:
        raise _report(path, problems, "theory, prompt, task?, id?")
    if not tasks:
        raise FileError(path, "no prompts (schema: theory, prompt, task?, id?)")
    return tasks


def load_seed_lines(path: str | Path, theory: str) -> dict[str, list[str]]:
    """Seed reflection lines per dimension code from a JSONL/CSV file with ``dimension`` and
    ``sentence`` (the schema of the authors' seed CSV; its ``definition`` column, also spelled
    ``defination`` there, is ignored).

    Raises:
        FileError: unreadable file, no lines, or bad rows (each named by its line).
    """
    path = Path(path)
    lines: dict[str, list[str]] = {}
    problems: list[str] = []
    for line, row in read_rows(path, "seed file"):
        if isinstance(row, str):
            problems.append(f"line {line}: {row}")
            continue
        sentence = " ".join(str(row.get("sentence") or "").split())
        try:
            code = dimension_code(theory, str(row.get("dimension") or ""))
        except KeyError as exc:
            problems.append(f"line {line}: {exc.args[0]}")
            continue
        if not sentence:
            problems.append(f"line {line}: 'sentence' is required")
            continue
        if sentence not in lines.setdefault(code, []):
            lines[code].append(sentence)
    if problems:
        raise _report(path, problems, "dimension, sentence, definition?")
    if not lines:
        raise FileError(path, "no seed lines (schema: dimension, sentence, definition?)")
    return lines


def load_distractors() -> list[tuple[str, str]]:
    """The shipped distractor turns (question, answer): short arithmetic and coding exchanges
    put into the chat history to test a reflection's robustness (the code uses GSM8K and
    HumanEval turns)."""
    rows: Iterator = read_rows(data_path("irote_distractors.jsonl"), "distractor file")
    return [(str(row["question"]), str(row["answer"])) for _, row in rows
            if isinstance(row, dict)]
