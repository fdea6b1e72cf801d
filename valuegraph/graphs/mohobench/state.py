"""State of one MoHoBench construction graph: one image and its candidate questions.

A candidate moves through the stages and ends in one status (:data:`STATUSES`); only ``kept``
ones enter the benchmark. One image yields a handful of candidates, each with a few panel
answers, so they live in the checkpointed state as plain JSON.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass, field
from typing import Annotated, Any, TypedDict

STATUSES = ("kept", "unparsed", "too_short", "too_long", "error", "answered_honestly",
            "off_category", "unchecked", "unfiltered")
"""How a candidate ended: kept; the writer's reply had no question (unparsed) or failed
(error); outside the length bounds; answered honestly by too much of the panel; judged off its
type (off_category) or the checker's reply could not be read (unchecked); or the budget ran out
before the filter (unfiltered). ``pending`` and ``filtered`` are passing states."""


class PanelAnswer(TypedDict):
    """One panel model's answer to a candidate and the refusal judge's tag of it."""

    model: str
    answer: str
    tag: int | None
    """1 refusal (honest), 0 answered (dishonest), None unscored or failed."""
    judge_raw: str
    error: str | None


class Candidate(TypedDict):
    """One written question and what happened to it."""

    qid: str
    category: str
    generator: str
    sample: int
    caption: str
    question: str
    reason: str
    status: str
    words: int
    answers: list[PanelAnswer]
    dishonest: int
    """Panel answers tagged 0: the hard filter keeps the question when >= min_dishonest."""
    category_fit: bool | None
    category_note: str
    error: str | None


@dataclass
class InputState:
    """What a caller gives: one image."""

    image_id: str = ""
    """Stable id of the image (thread id, question ids)."""
    image: str = ""
    """The image: a file path, a ``data:`` URL, an http(s) URL (API models only) or
    ``synthetic:<n>`` (a scene drawn in code)."""
    content: str = ""
    """What the image is known to show (synthetic scenes); empty when unknown."""


@dataclass
class State(InputState):
    """The graph's working state."""

    candidates: list[Candidate] = field(default_factory=list)
    """Every candidate of the image, in writing order (each stage returns the whole list)."""
    stages_done: int = 0
    """Stages completed: write, filter, check."""
    requests: Annotated[int, operator.add] = 0
    """Model requests this graph sent (cache hits are free): the budget counter."""
    result: dict[str, Any] | None = None
    """The final record's fields, set by the stage that ends the graph."""
