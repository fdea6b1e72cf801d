"""Typed records: what loops write to ``results.jsonl`` and what evals and training read.

Every line of a run's ``results.jsonl`` is one of these models, told apart by ``kind``.
:class:`RecordLog` validates a record against its model before it is appended (and fsynced),
so a record on disk always parses, and nodes write a record before the state refers to it.

The hand-off to training is :class:`ScoredCompletion`: one model completion of a prompt with its
judged violation probability. A DeNEVIL run directory, a ``bench moral`` output directory and a
JSONL file of such rows all read into it (:func:`load_scored_completions`).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from valuegraph.tools.files import FileError, first_error, iter_jsonl
from valuegraph.tools.results import ResultLog

RESULTS_FILE = "results.jsonl"
SAMPLES_FILE = "samples.jsonl"


class Record(BaseModel):
    """Fields of every record."""

    model_config = ConfigDict(extra="forbid")
    kind: str
    created: float = Field(default_factory=time.time)
    run_id: str = ""


# -- items of per-item loops (DeNEVIL, ...) -------------------------------------------------

class ItemRecord(Record):
    """The outcome of one item of a per-item loop (a principle, a scenario, ...)."""

    id: str
    item_id: str
    """The item's own id; a resumed run skips items whose last record is done."""
    status: str


class FailureRecord(ItemRecord):
    """An item whose graph raised; a resumed run tries it again."""

    kind: Literal["failure"] = "failure"
    status: Literal["failed"] = "failed"
    error: str


class ScoredCompletion(BaseModel):
    """One completion of a prompt with its judged violation probability (the D²O negatives
    source, ``bench moral``'s samples)."""

    model_config = ConfigDict(extra="ignore")
    prompt_id: str = ""
    prompt: str = Field(min_length=1)
    principle: str = ""
    foundation: str = ""
    model: str = ""
    completion: str
    score: float | None = Field(default=None, ge=0.0, le=1.0)
    """p(violation); None when the judge's reply could not be scored."""
    judge: str = ""
    sample: int = 0


class MoralPromptRecord(ItemRecord):
    """DeNEVIL: the accepted scenario prompt of one principle, its samples and lineage.

    ``completions``/``scores`` (what :func:`load_scored_completions` hands to D²O) and the
    violation figures come from fresh, unsteered samples of the prompt when
    ``violation_source == "fresh"``; ``"selection"`` means they are the samples that selected
    it (records written before the fresh evaluation existed are that kind).
    """

    kind: Literal["moral_prompt"] = "moral_prompt"
    status: Literal["ok", "duplicate", "disfluent"]
    principle_id: str
    principle: str
    foundation: str
    prompt: str
    prompt_round: int
    completions: list[str]
    scores: list[float | None]
    judged_by: list[str]
    mean_violation: float | None
    violation_rate: float | None
    rounds: int
    exit_reason: str | None
    requests: int
    """Model requests the principle's graph sent (cache hits are free)."""
    lineage: list[str]
    round_means: list[float | None]
    history: list[dict[str, Any]]
    attacker: str
    target: str
    judge: str
    seed: int
    samples: int
    threshold: float
    duplicate_of: str | None = None
    similarity: float | None = None
    principle_metadata: dict[str, Any] = Field(default_factory=dict)
    scenario_index: int = 0
    """k: the principle's k-th scenario (MoralPrompt holds several per principle)."""
    violation_source: Literal["fresh", "selection"] = "selection"
    selection_mean_violation: float | None = None
    """Mean p(violation) on the unsteered samples that selected the prompt (biased upwards)."""
    selection_violation_rate: float | None = None
    steered: bool = False
    """Whether the E-step's posterior samples were steered (they never feed these figures)."""
    perplexity: float | None = None
    """Per-word perplexity of the prompt under ``fluency_model``; None: not scored."""
    fluency_model: str | None = None

    def scored_completions(self) -> list[ScoredCompletion]:
        return [ScoredCompletion(prompt_id=self.id, prompt=self.prompt, principle=self.principle,
                                 foundation=self.foundation, model=self.target, completion=text,
                                 score=score, judge=judged, sample=i)
                for i, (text, score, judged) in enumerate(zip(
                    self.completions, self.scores, self.judged_by, strict=True))]


# -- AdAEM growth records (keyed, written once each) ----------------------------------------

class KeyedRecord(Record):
    """A growth-run record; ``key`` is unique in the run (a re-run node reuses it)."""

    model_config = ConfigDict(extra="allow")
    key: str
    id: str = ""


class CandidateRecord(KeyedRecord):
    kind: Literal["candidate"] = "candidate"
    root: str
    parent: str | None
    depth: int = Field(ge=0)
    step: int
    topic_id: str
    question: str = Field(min_length=1)
    generator: str


class ScoreRecord(KeyedRecord):
    kind: Literal["score"] = "score"
    pool: Literal["p1", "p2"]
    models: list[str]
    S: float | None
    S_parts: dict[str, Any]


class DropRecord(KeyedRecord):
    kind: Literal["drop"] = "drop"
    reason: str
    stage: str


class ErrorRecord(KeyedRecord):
    kind: Literal["error"] = "error"
    stage: str
    error: str


class RefineRecord(KeyedRecord):
    kind: Literal["refine"] = "refine"
    parent: str
    gain: float | None
    accepted: bool


class SafetyRecord(KeyedRecord):
    kind: Literal["safety"] = "safety"
    judge: str
    score: float | None
    flagged: bool


class ApprovalRecord(KeyedRecord):
    kind: Literal["approval"] = "approval"
    approved: bool


class QuestionRecord(KeyedRecord):
    """A finished question of a growth run; ``kept`` ones go into releases."""

    kind: Literal["question"] = "question"
    qid: str
    topic_id: str
    question: str = Field(min_length=1)
    S: float
    status: Literal["kept", "flagged", "rejected", "duplicate"]
    round_b: int
    depth: int = Field(ge=0)
    theory: str


class StepRecord(KeyedRecord):
    kind: Literal["step"] = "step"
    step: int
    arm: str
    reward: float | None
    """Mean final S of the step's questions; None: the step produced none (AdAEM values it at
    the run's lowest reward)."""
    questions: list[str]
    count: float
    value: float


RECORD_TYPES: dict[str, type[Record]] = {
    model.model_fields["kind"].default: model
    for model in (FailureRecord, MoralPromptRecord, CandidateRecord, ScoreRecord, DropRecord,
                  ErrorRecord, RefineRecord, SafetyRecord, ApprovalRecord, QuestionRecord,
                  StepRecord)
}


def register_record_type(model: type[Record]) -> type[Record]:
    """Make a loop's own record kind known to :class:`RecordLog` and :func:`parse_record`
    (usable as a class decorator)."""
    RECORD_TYPES[model.model_fields["kind"].default] = model
    return model


class RecordError(ValueError):
    """A record that does not fit its model (a bug in the writer, or an edited file)."""


def parse_record(data: dict[str, Any]) -> Record:
    """The typed record for a line of ``results.jsonl``.

    Raises:
        RecordError: unknown kind or a field that does not fit.
    """
    kind = data.get("kind")
    model = RECORD_TYPES.get(str(kind))
    if model is None:
        raise RecordError(f"unknown record kind {kind!r}; known: {', '.join(RECORD_TYPES)}")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise RecordError(f"{kind} record: {first_error(exc)}") from None


class RecordLog(ResultLog):
    """A run's ``results.jsonl``: each record is validated against its model, then appended."""

    def append(self, record: dict[str, Any] | BaseModel) -> dict[str, Any]:
        if isinstance(record, dict):
            parse_record(record)
        return super().append(record)

    def typed(self, kind: str | None = None) -> Iterator[Record]:
        """The records as models (of one kind, when given), in file order."""
        for data in self:
            if kind is None or data.get("kind") == kind:
                yield parse_record(data)


def latest_by_item(records: Iterable[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The last record per item (a resumed run appends after earlier failures)."""
    return {r["item_id"]: r for r in records if "item_id" in r}


def load_scored_completions(source: str | Path) -> list[ScoredCompletion]:
    """Scored completions from a DeNEVIL run directory (its accepted prompts' samples), a
    ``bench moral`` output directory (``samples.jsonl``) or a JSONL file of either.

    Raises:
        FileError: nothing to read there, or a line that is neither kind of row.
    """
    path = Path(source)
    if path.is_dir():
        for name in (RESULTS_FILE, SAMPLES_FILE):
            if (path / name).is_file():
                path = path / name
                break
        else:
            raise FileError(path, f"holds neither {RESULTS_FILE} (a DeNEVIL run) nor "
                            f"{SAMPLES_FILE} (a bench moral output)")
    rows: list[ScoredCompletion] = []
    for line, data in iter_jsonl(path):
        if isinstance(data, str):
            raise FileError(path, data, line)
        try:
            if data.get("kind") == "moral_prompt":
                record = MoralPromptRecord.model_validate(data)
                if record.status == "ok":
                    rows.extend(record.scored_completions())
            elif "kind" in data:
                continue  # other records of a run (failures)
            else:
                rows.append(ScoredCompletion.model_validate(data))
        except ValidationError as exc:
            raise FileError(path, first_error(exc), line) from None
    if not rows:
        raise FileError(path, "no scored completions")
    return rows
