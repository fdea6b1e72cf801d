"""Seed topics (the bandit's arms) and their seed questions.

Three sources:
- the packaged set ``valuegraph/data/adaem_seeds.jsonl``: 45 controversial topics written by
  the valuegraph team, five in each of the paper's nine categories, two questions each;
- a user JSONL file, one topic per line (schema: :class:`SeedRecord`);
- a Touché23-ValueEval arguments TSV (``Argument ID``, ``Conclusion``, ``Stance``,
  ``Premise``, optional ``Labels``): one topic per distinct conclusion, whose seed question is
  the conclusion turned into a yes/no question by rule (the paper used an LLM, listing L2).

Errors name the file and line: ``seeds.jsonl:7: questions: ...``.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from valuegraph.tools.files import FileError, iter_jsonl, read_text

CATEGORIES = (
    "Politics & International Relations",
    "Law, Justice & Human Rights",
    "Economics & Business",
    "Science, Health & Environment",
    "Technology & Innovation",
    "Education & Media",
    "Social & Cultural Issues",
    "Philosophy & Beliefs",
    "Entertainment & Arts",
)
UNCATEGORISED = "Uncategorised"
SeedFormat = Literal["auto", "jsonl", "touche"]


class SeedError(ValueError):
    """A seed file that cannot be used; the message names the file and line."""


@dataclass(frozen=True)
class Topic:
    """One arm of the bandit.

    Attributes:
        topic_id: Unique id within the run.
        category: One of ``CATEGORIES`` for the packaged set; free text for user seeds.
        topic: The general argument or topic description.
        questions: Seed yes/no questions (X_i before any growth).
    """

    topic_id: str
    category: str
    topic: str
    questions: tuple[str, ...]

    def to_json(self) -> dict[str, object]:
        return {"topic_id": self.topic_id, "category": self.category, "topic": self.topic,
                "questions": list(self.questions)}


class SeedRecord(BaseModel):
    """One line of a seed JSONL file."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    topic: str = Field(min_length=3, description="General argument or topic description.")
    questions: list[str] = Field(min_length=1, description="Seed yes/no questions.")
    category: str = Field(UNCATEGORISED, min_length=1)
    topic_id: str | None = Field(None, pattern=r"^[A-Za-z0-9._-]{1,64}$")

    @field_validator("questions")
    @classmethod
    def _questions(cls, value: list[str]) -> list[str]:
        out = []
        for i, question in enumerate(value, 1):
            question = question.strip()
            if not question.endswith("?"):
                raise ValueError(f"question {i} must be a yes/no question ending with '?', "
                                 f"got {question[:60]!r}")
            out.append(question)
        return out


def packaged_seeds_path() -> Path:
    return Path(str(resources.files("valuegraph") / "data" / "adaem_seeds.jsonl"))


def load_seeds(path: str | Path | None = None, fmt: SeedFormat = "auto") -> list[Topic]:
    """Topics from ``path`` (the packaged set when None). ``fmt="auto"`` picks by suffix:
    ``.tsv`` is Touché23-ValueEval, anything else JSONL.

    Raises:
        SeedError: unreadable file, malformed line, invalid record, duplicate topic id, or no
            topic at all.
    """
    source = Path(path) if path is not None else packaged_seeds_path()
    if fmt not in ("auto", "jsonl", "touche"):
        raise SeedError(f"seed format must be auto, jsonl or touche, got {fmt!r}")
    if source.is_dir():
        raise SeedError(f"seed file {source} is a directory; expected a JSONL or TSV file")
    if not source.exists():
        raise SeedError(f"seed file {source} does not exist")
    if fmt == "touche" or (fmt == "auto" and source.suffix.lower() == ".tsv"):
        topics = load_touche_tsv(source)
    else:
        topics = load_jsonl_seeds(source)
    if not topics:
        raise SeedError(f"{source}: no topics found")
    return topics


def load_jsonl_seeds(path: str | Path) -> list[Topic]:
    path = Path(path)
    topics: list[Topic] = []
    seen: dict[str, int] = {}
    try:
        rows = list(iter_jsonl(path, "seed file"))
    except FileError as exc:
        raise SeedError(str(exc)) from None
    for number, data in rows:
        if isinstance(data, str):
            raise SeedError(f"{path.name}:{number}: {data}")
        try:
            record = SeedRecord.model_validate(data)
        except ValidationError as exc:
            err = exc.errors()[0]
            where = ".".join(str(p) for p in err["loc"]) or "record"
            message = str(err["msg"]).removeprefix("Value error, ")
            if err["type"] == "extra_forbidden":
                message = f"unknown field; allowed: {', '.join(SeedRecord.model_fields)}"
            raise SeedError(f"{path.name}:{number}: {where}: {message}") from None
        topic_id = record.topic_id or f"t{number:04d}"
        if topic_id in seen:
            raise SeedError(f"{path.name}:{number}: topic_id {topic_id!r} already used on line "
                            f"{seen[topic_id]}")
        seen[topic_id] = number
        topics.append(Topic(topic_id, record.category, record.topic, tuple(record.questions)))
    return topics


_SHOULD = re.compile(r"^(.+?)\s+should\s+(not\s+)?(.+)$", re.I)
_COMMON_START = {"we", "people", "parents", "society", "everyone", "the", "a", "an", "all",
                 "governments", "government", "schools", "companies", "countries", "children"}


def conclusion_to_question(conclusion: str) -> str:
    """``We should ban payday loans`` -> ``Should we ban payday loans?``; ``X should be Y`` ->
    ``Should X be Y?``; anything else -> ``Do you agree that <conclusion>?``."""
    text = " ".join(conclusion.split()).rstrip(".!?")
    if not text:
        return ""
    match = _SHOULD.match(text)
    if match:
        subject, negation, rest = match.groups()
        if subject.split()[0].lower() in _COMMON_START:
            subject = subject[0].lower() + subject[1:]
        return f"Should {subject} {'not ' if negation else ''}{rest}?"
    return f"Do you agree that {text[0].lower() + text[1:]}?"


REQUIRED_TSV = ("Argument ID", "Conclusion")


def load_touche_tsv(path: str | Path) -> list[Topic]:
    path = Path(path)
    try:
        handle = io.StringIO(read_text(path, "seed file"), newline="")
    except FileError as exc:
        raise SeedError(str(exc)) from None
    topics: dict[str, Topic] = {}
    with handle:
        reader = csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
        header = next(reader, None)
        if header is None:
            raise SeedError(f"{path.name}:1: empty file; expected a Touché23-ValueEval header")
        header = [h.strip() for h in header]
        missing = [c for c in REQUIRED_TSV if c not in header]
        if missing:
            raise SeedError(f"{path.name}:1: missing column(s) {', '.join(missing)}; expected the "
                            "Touché23-ValueEval layout: Argument ID, Conclusion, Stance, Premise")
        col_id, col_conclusion = header.index("Argument ID"), header.index("Conclusion")
        for number, row in enumerate(reader, 2):
            if not row or not any(cell.strip() for cell in row):
                continue
            if len(row) != len(header):
                raise SeedError(f"{path.name}:{number}: {len(row)} fields, the header has "
                                f"{len(header)}")
            argument_id, conclusion = row[col_id].strip(), row[col_conclusion].strip()
            if not argument_id or not conclusion:
                raise SeedError(f"{path.name}:{number}: empty Argument ID or Conclusion")
            key = " ".join(conclusion.lower().split())
            if key not in topics:
                topics[key] = Topic(argument_id, UNCATEGORISED, conclusion,
                                    (conclusion_to_question(conclusion),))
    return list(topics.values())
