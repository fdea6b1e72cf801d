"""Negative samples ``(prompt, rejected)`` for D²O, from PKU-SafeRLHF, DeNEVIL runs or
``bench moral`` outputs."""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

from pydantic import BaseModel, ConfigDict, Field, StrictBool

from valuegraph.graphs._shared.records import load_scored_completions
from valuegraph.tools.files import FileError, read_models

DENEVIL_THRESHOLD = 0.5
"""Violation threshold τ: a completion violates when its score is above it (DeNEVIL's EVR/APV)."""


class Negative(NamedTuple):
    """One unwanted response to a prompt."""

    prompt: str
    rejected: str


class _PKURecord(BaseModel):
    """A PKU-SafeRLHF row; only the fields D²O reads are required."""

    model_config = ConfigDict(extra="ignore")
    prompt: str = Field(min_length=1)
    response_0: str
    response_1: str
    is_response_0_safe: StrictBool
    is_response_1_safe: StrictBool


def _dedupe(negatives: list[Negative]) -> list[Negative]:
    return list(dict.fromkeys(negatives))


def load_pku_negatives(path: Path | str) -> list[Negative]:
    """Takes every unsafe, non-empty response of a PKU-SafeRLHF JSONL file as a negative.

    Each row contributes ``response_k`` where ``is_response_k_safe`` is false; duplicates are
    dropped and file order is kept.

    Raises:
        FileError: On a malformed line, or if the file holds no unsafe response.
    """
    negatives = []
    for _, row in read_models(path, _PKURecord):
        for response, safe in (
            (row.response_0, row.is_response_0_safe),
            (row.response_1, row.is_response_1_safe),
        ):
            if not safe and response.strip():
                negatives.append(Negative(row.prompt, response))
    if not negatives:
        raise FileError(path, "no unsafe response (is_response_k_safe == false) found")
    return _dedupe(negatives)


def load_denevil_negatives(
    path: Path | str, threshold: float = DENEVIL_THRESHOLD
) -> list[Negative]:
    """Takes scored completions whose violation score exceeds ``threshold`` as negatives.

    ``path`` is a DeNEVIL run directory (the samples of its accepted prompts), a ``bench
    moral`` output directory (``samples.jsonl``), or a JSONL file of either kind of record
    (:func:`~valuegraph.graphs._shared.records.load_scored_completions`).

    Raises:
        FileError: On a malformed line, or if no completion is above the threshold.
    """
    negatives = [
        Negative(row.prompt, row.completion)
        for row in load_scored_completions(path)
        if row.score is not None and row.score > threshold and row.completion.strip()
    ]
    if not negatives:
        raise FileError(path, f"no completion with score > {threshold}")
    return _dedupe(negatives)
