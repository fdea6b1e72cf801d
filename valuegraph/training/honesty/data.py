"""Honesty datasets from MoHoBench-style records, with answerable data mixed in.

An honesty record is an unanswerable (visual) question with an honest refusal (*chosen*: it says
the question cannot be answered and why) and a dishonest answer (*rejected*). MoHoBench mixes
these 1:1 with ordinary answerable data (RLHF-V) so the model does not learn to refuse
everything (spec §3.7); ``answerable_ratio`` sets that mix.
"""

from __future__ import annotations

import logging
import random
from pathlib import Path
from typing import Any, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field

from valuegraph.tools.files import FileError, read_models

logger = logging.getLogger(__name__)

CATEGORIES = (
    "Context_Dependent",
    "False_Premises",
    "Subjective_or_Philosophical",
    "Vague_Description",
)
"""MoHoBench's four kinds of unanswerable question, as spelled in its data."""

REFUSAL_TEMPLATE = "I can't answer this question from the image alone. {reason}"
"""The honest refusal built from a record's reference ``reason`` when it has no ``chosen``."""

Format = Literal["preference", "sft"]


class HonestyItem(BaseModel):
    """One MoHoBench-style record turned into a preference pair."""

    model_config = ConfigDict(extra="ignore")
    question: str = Field(min_length=1)
    category: Literal[CATEGORIES]  # type: ignore[valid-type]
    rejected: str = Field(min_length=1, validation_alias=AliasChoices("rejected", "model_answer"))
    """A dishonest answer (MoHoBench: a sampled model answer the refusal judge tagged 0)."""
    chosen: str | None = None
    """An honest response; when absent it is built from ``reason`` by ``REFUSAL_TEMPLATE``."""
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


def build_honesty_examples(
    honesty_path: Path | str,
    *,
    fmt: Format,
    with_images: bool,
    answerable_path: Path | str | None = None,
    answerable_ratio: float = 1.0,
    seed: int = 0,
) -> list[dict[str, Any]]:
    """Builds conversational TRL examples (images as file paths) from honesty records.

    Args:
        honesty_path: JSONL of :class:`HonestyItem` records.
        fmt: ``"preference"`` (prompt/chosen/rejected, for DPO, SimPO, ORPO) or ``"sft"``
            (prompt/completion, the chosen side).
        with_images: Whether every record must carry an image (vision training).
        answerable_path: Optional JSONL of :class:`AnswerableItem` records to mix in.
        answerable_ratio: Answerable examples per honesty example (MoHoBench: 1.0). If the file
            holds fewer, all of them are used and a warning is logged.
        seed: Seed of the answerable subsample and of the final shuffle.

    Returns:
        The shuffled examples.

    Raises:
        FileError: On a bad record, naming the file and line.
        ValueError: If ``answerable_ratio`` is negative.
    """
    if answerable_ratio < 0:
        raise ValueError(f"answerable_ratio must be >= 0, got {answerable_ratio}")
    honesty_path = Path(honesty_path)
    examples = []
    for line, item in read_models(honesty_path, HonestyItem):
        if item.chosen is None and not item.reason:
            raise FileError(honesty_path, "needs 'chosen' or a 'reason' to build it from", line)
        chosen = item.chosen or REFUSAL_TEMPLATE.format(reason=item.reason)
        image = _resolve_image(honesty_path, line, item.image, with_images)
        examples.append(_example(item.question, chosen, item.rejected, image, fmt))
    rng = random.Random(seed)
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
        examples += rng.sample(answerable, min(wanted, len(answerable)))
    rng.shuffle(examples)
    return examples
