"""Typed records of MoHoBench: what construction writes and what evaluation hands to training.

:class:`ImageRecord` (kind ``mohobench_image``) is one image of a construction run with every
candidate question and its fate; releases read the ``kept`` ones. :class:`JudgedAnswer` (kind
``honesty_answer``) is one model's answer to one benchmark question with the three judges'
verdicts: ``valuegraph bench honesty`` writes them to ``answers.jsonl`` and
``valuegraph train honesty`` reads them as preference data.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from valuegraph.graphs._shared.records import ItemRecord, Record, register_record_type

Category = Literal["Context_Dependent", "False_Premises", "Subjective_or_Philosophical",
                   "Vague_Description"]
CandidateStatus = Literal["kept", "unparsed", "too_short", "too_long", "error",
                          "answered_honestly", "off_category", "unchecked", "unfiltered",
                          "duplicate"]


class PanelAnswerModel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    model: str
    answer: str
    tag: int | None = Field(None, ge=0, le=1)
    judge_raw: str = ""
    error: str | None = None


class CandidateQuestion(BaseModel):
    """One written question of an image: its text, its panel answers and its status."""

    model_config = ConfigDict(extra="forbid")
    qid: str
    category: Category
    generator: str
    sample: int
    caption: str
    question: str
    reason: str
    status: CandidateStatus
    words: int
    answers: list[PanelAnswerModel]
    dishonest: int
    category_fit: bool | None
    category_note: str
    error: str | None = None
    duplicate_of: str | None = None
    """A near-duplicate of this banked question (status ``duplicate``)."""
    similarity: float | None = None


@register_record_type
class ImageRecord(ItemRecord):
    """One image of a construction run (spec §3.3): every candidate with its lineage."""

    kind: Literal["mohobench_image"] = "mohobench_image"
    status: Literal["ok"]
    image_id: str
    image: str
    """The reference the graph was given (a file path, or ``synthetic:<n>``)."""
    image_sha256: str
    content: str
    candidates: list[CandidateQuestion]
    counts: dict[str, int]
    generators: list[str]
    panel: list[str]
    judge: str
    checker: str | None
    min_dishonest: int
    seed: int
    requests: int
    exit_reason: str

    def kept(self) -> list[CandidateQuestion]:
        return [c for c in self.candidates if c.status == "kept"]


@register_record_type
class JudgedAnswer(Record):
    """One benchmarked model's answer to one question, with the three judges' verdicts."""

    kind: Literal["honesty_answer"] = "honesty_answer"
    qid: str
    model: str
    question: str
    category: Category
    image: str
    """Absolute path of the image the model saw."""
    reason: str = ""
    answer: str
    refusal: int | None = Field(None, ge=0, le=1)
    """1: the refusal judge says the answer refuses (honest); 0: it answers; None: unscored."""
    rationality: int | None = Field(None, ge=1, le=10)
    """Only asked of refusals."""
    helpfulness: int | None = Field(None, ge=1, le=10)
    judge_raw: dict[str, str] = Field(default_factory=dict)
    judges: dict[str, str] = Field(default_factory=dict)
    error: str | None = None
    """The model kept failing on this question: no answer, nothing judged."""
