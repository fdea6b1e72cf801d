"""Honesty datasets: MoHoBench-style records or ``bench honesty`` answers, with answerable data
mixed in.

An honesty pair is an unanswerable (visual) question with an honest refusal (*chosen*: it says
the question cannot be answered and why) and a dishonest answer (*rejected*). Two sources:

- MoHoBench-style JSONL rows (``question, category, rejected | model_answer, chosen | reason,
  image | image_path``);
- the judged answers of ``valuegraph bench honesty`` (its output directory or its
  ``answers.jsonl``), read directly: every answer the refusal judge tagged 0 is a *rejected*
  side; answers tagged 1 are never rejected (the judge says they refuse), unscored ones are
  dropped too (counted). The *chosen* side of a question is its best-rated refusal among the
  evaluated models (rationality >= ``min_rationality``).

Where no honest answer is available the chosen side is a **stand-in**: a refusal written from
the question's type (:data:`STAND_INS`) and its reference reason. Stand-ins are labelled in
:attr:`HonestyData.sources`, the run's ``honesty_pairs.jsonl`` and its model card, since they
are templates, not the paper's written-to-a-specification answers of GPT-4o and o1.

MoHoBench mixes honesty data 1:1 with ordinary answerable data (RLHF-V) so the model does not
learn to refuse everything (spec §3.7); ``answerable_ratio`` sets that mix.
"""

from __future__ import annotations

import logging
import random
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, ValidationError

from valuegraph.graphs.mohobench.records import JudgedAnswer
from valuegraph.tools.files import FileError, first_error, iter_jsonl, read_models
from valuegraph.values.theories import HONESTY_TYPES

logger = logging.getLogger(__name__)

CATEGORIES = HONESTY_TYPES.codes
"""MoHoBench's four kinds of unanswerable question, as spelled in its data."""
ANSWERS_FILE = "answers.jsonl"

STAND_INS = {
    "Context_Dependent": "I can't answer this from the image alone: it needs information the "
                         "picture does not show. {reason}",
    "False_Premises": "The question assumes something the image does not show, so I can't "
                      "answer it as asked. {reason}",
    "Subjective_or_Philosophical": "This is a matter of opinion or values that the image "
                                   "cannot settle, so there is no single factual answer. "
                                   "{reason}",
    "Vague_Description": "The question does not make clear which part of the image it means, "
                         "so I can't answer it reliably. {reason}",
}
"""Stand-in honest refusals per type, completed with the reference reason (labelled as
stand-ins wherever they are used)."""

Format = Literal["preference", "sft"]


def stand_in_refusal(category: str, reason: str | None) -> str:
    """The stand-in refusal of a question type (its reason appended when known)."""
    return STAND_INS[category].format(reason=(reason or "").strip()).strip()


class HonestyItem(BaseModel):
    """One MoHoBench-style record turned into a preference pair."""

    model_config = ConfigDict(extra="ignore")
    question: str = Field(min_length=1)
    category: Literal[CATEGORIES]  # type: ignore[valid-type]
    rejected: str = Field(min_length=1, validation_alias=AliasChoices("rejected", "model_answer"))
    """A dishonest answer (MoHoBench: a sampled model answer the refusal judge tagged 0)."""
    chosen: str | None = None
    """An honest response; when absent a stand-in is built from the type and ``reason``."""
    reason: str | None = None
    """The reference justification of why the question is unanswerable."""
    image: str | None = Field(default=None, validation_alias=AliasChoices("image", "image_path"))


class AnswerableItem(BaseModel):
    """An ordinary answerable question (e.g. an RLHF-V pair) mixed in against over-refusal."""

    model_config = ConfigDict(extra="ignore")
    question: str = Field(min_length=1)
    chosen: str = Field(min_length=1, validation_alias=AliasChoices("chosen", "answer"))
    rejected: str | None = None
    """Needed for preference methods; SFT uses only ``chosen``."""
    image: str | None = Field(default=None, validation_alias=AliasChoices("image", "image_path"))


@dataclass
class Pair:
    """One honesty pair before it becomes a TRL example."""

    qid: str
    question: str
    category: str
    chosen: str
    chosen_source: str
    """``"model:<spec>"`` (an honest answer from the evaluation), ``"record"`` (the file's
    own ``chosen``) or ``"stand-in"``."""
    rejected: str
    rejected_source: str
    image: str | None


@dataclass
class HonestyData:
    """The examples of a run and how they were made."""

    examples: list[dict[str, Any]]
    pairs: list[Pair]
    n_answerable: int
    counts: dict[str, int] = field(default_factory=dict)
    """honesty, answerable, chosen sources, and what was dropped (and why)."""


def _resolve_image(path: Path, line: int, image: str | None, with_images: bool) -> str | None:
    if not with_images:
        return None
    if not image:
        raise FileError(path, "image record without an image (field 'image' or 'image_path')", line)
    resolved = Path(image)
    if not resolved.is_absolute():
        resolved = path.parent / resolved
    if not resolved.is_file():
        raise FileError(path, f"image file not found: {image}", line)
    return str(resolved)


def _user_turn(question: str, has_image: bool) -> list[dict[str, Any]]:
    if not has_image:
        return [{"role": "user", "content": question}]
    content = [{"type": "image"}, {"type": "text", "text": question}]
    return [{"role": "user", "content": content}]


def _example(
    question: str, chosen: str, rejected: str | None, image: str | None, fmt: Format
) -> dict[str, Any]:
    example: dict[str, Any] = {"prompt": _user_turn(question, image is not None)}
    if fmt == "sft":
        example["completion"] = [{"role": "assistant", "content": chosen}]
    else:
        example["chosen"] = [{"role": "assistant", "content": chosen}]
        example["rejected"] = [{"role": "assistant", "content": rejected}]
    if image is not None:
        example["images"] = [image]
    return example


def answers_source(path: Path) -> Path | None:
    """The ``answers.jsonl`` of a ``bench honesty`` output (a directory or the file itself),
    or None when ``path`` holds MoHoBench-style records."""
    if path.is_dir():
        if not (path / ANSWERS_FILE).is_file():
            raise FileError(path, f"is a directory without {ANSWERS_FILE} (a `valuegraph bench "
                            "honesty` output); give that or a JSONL of honesty records")
        return path / ANSWERS_FILE
    for _, row in iter_jsonl(path, "honesty file"):
        return path if isinstance(row, dict) and row.get("kind") == "honesty_answer" else None
    return None


def read_judged(path: Path) -> list[tuple[int, JudgedAnswer]]:
    """Every judged answer of a ``bench honesty`` answers file, with its line."""
    rows = []
    for line, row in iter_jsonl(path, "answers file"):
        if isinstance(row, str):
            raise FileError(path, row, line)
        try:
            rows.append((line, JudgedAnswer.model_validate(row)))
        except ValidationError as exc:
            raise FileError(path, first_error(exc), line) from None
    if not rows:
        raise FileError(path, "no judged answers")
    return rows


def pairs_from_judged(answers: list[tuple[int, JudgedAnswer]], path: Path, *,
                      with_images: bool, min_rationality: int,
                      counts: Counter[str]) -> list[Pair]:
    """Preference pairs from judged answers: each dishonest answer against the question's best
    honest one (or a stand-in); refusals and unscored answers are never rejected."""
    by_question: dict[str, list[tuple[int, JudgedAnswer]]] = {}
    for line, answer in answers:
        by_question.setdefault(answer.qid, []).append((line, answer))
    pairs = []
    for qid, group in by_question.items():
        honest = [a for _, a in group if a.error is None and a.refusal == 1 and a.answer.strip()
                  and (a.rationality or 0) >= min_rationality]
        best = max(honest, key=lambda a: (a.rationality or 0, -len(a.answer)), default=None)
        for line, answer in group:
            if answer.error is not None or not answer.answer.strip():
                counts["dropped_failed_answer"] += 1
            elif answer.refusal == 1:
                counts["dropped_rejected_is_refusal"] += 1
            elif answer.refusal is None:
                counts["dropped_rejected_unscored"] += 1
            else:
                image = _resolve_image(path, line, answer.image, with_images)
                chosen, source = (best.answer, f"model:{best.model}") if best is not None \
                    else (stand_in_refusal(answer.category, answer.reason), "stand-in")
                pairs.append(Pair(qid, answer.question, answer.category, chosen, source,
                                  answer.answer, f"model:{answer.model}", image))
    return pairs


def pairs_from_records(path: Path, *, with_images: bool) -> list[Pair]:
    pairs = []
    for line, item in read_models(path, HonestyItem):
        image = _resolve_image(path, line, item.image, with_images)
        if item.chosen is not None:
            chosen, source = item.chosen, "record"
        elif item.reason:
            chosen, source = stand_in_refusal(item.category, item.reason), "stand-in"
        else:
            raise FileError(path, "needs 'chosen' or a 'reason' to build it from", line)
        pairs.append(Pair(f"line{line}", item.question, item.category, chosen, source,
                          item.rejected, "record", image))
    return pairs


def load_honesty_data(
    honesty_path: Path | str,
    *,
    fmt: Format,
    with_images: bool,
    answerable_path: Path | str | None = None,
    answerable_ratio: float = 1.0,
    seed: int = 0,
    min_rationality: int = 7,
) -> HonestyData:
    """Builds conversational TRL examples (images as file paths) from honesty data.

    Args:
        honesty_path: JSONL of :class:`HonestyItem` records, or a ``bench honesty`` output
            (directory or ``answers.jsonl``).
        fmt: ``"preference"`` (prompt/chosen/rejected, for DPO, SimPO, ORPO) or ``"sft"``
            (prompt/completion, the chosen side; one example per question).
        with_images: Whether every record must carry an image (vision training).
        answerable_path: Optional JSONL of :class:`AnswerableItem` records to mix in.
        answerable_ratio: Answerable examples per honesty example (MoHoBench: 1.0). If the file
            holds fewer, all of them are used and a warning is logged.
        seed: Seed of the answerable subsample and of the final shuffle.
        min_rationality: Least rationality score of an evaluated refusal used as *chosen*
            (7: the judge's "coherent and grounded" band) [R].

    Raises:
        FileError: On a bad record, naming the file and line.
        ValueError: If ``answerable_ratio`` is negative.
    """
    if answerable_ratio < 0:
        raise ValueError(f"answerable_ratio must be >= 0, got {answerable_ratio}")
    honesty_path = Path(honesty_path)
    counts: Counter[str] = Counter()
    judged = answers_source(honesty_path)
    if judged is not None:
        pairs = pairs_from_judged(read_judged(judged), judged, with_images=with_images,
                                  min_rationality=min_rationality, counts=counts)
        if not pairs:
            raise FileError(judged, "no answer the refusal judge tagged as dishonest (tag 0): "
                            "nothing to reject")
    else:
        pairs = pairs_from_records(honesty_path, with_images=with_images)
    if fmt == "sft":  # the chosen side once per question
        pairs = list({p.qid: p for p in pairs}.values())
    examples = [_example(p.question, p.chosen, p.rejected, p.image, fmt) for p in pairs]
    counts["honesty"] = len(examples)
    for pair in pairs:
        counts["chosen_stand_in" if pair.chosen_source == "stand-in" else
               "chosen_from_model" if pair.chosen_source.startswith("model:") else
               "chosen_from_record"] += 1
    rng = random.Random(seed)
    n_answerable = 0
    if answerable_path is not None and answerable_ratio > 0:
        answerable_path = Path(answerable_path)
        answerable = []
        for line, extra in read_models(answerable_path, AnswerableItem):
            if fmt == "preference" and not extra.rejected:
                raise FileError(answerable_path, "preference methods need 'rejected'", line)
            image = _resolve_image(answerable_path, line, extra.image, with_images)
            answerable.append(_example(extra.question, extra.chosen, extra.rejected, image, fmt))
        wanted = round(answerable_ratio * len(examples))
        if wanted > len(answerable):
            logger.warning(
                "answerable_ratio %.2f wants %d answerable examples; %s has %d, using all",
                answerable_ratio,
                wanted,
                answerable_path,
                len(answerable),
            )
        picked = rng.sample(answerable, min(wanted, len(answerable)))
        n_answerable = len(picked)
        examples += picked
    counts["answerable"] = n_answerable
    rng.shuffle(examples)
    return HonestyData(examples, pairs, n_answerable, dict(counts))


def build_honesty_examples(honesty_path: Path | str, **kwargs: Any) -> list[dict[str, Any]]:
    """The shuffled examples of :func:`load_honesty_data` (same arguments)."""
    return load_honesty_data(honesty_path, **kwargs).examples
