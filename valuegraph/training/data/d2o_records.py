"""The D²O record ``{prompt, rejected, self_samples[K]}``: building one and validating a file."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from valuegraph.tools.files import FileError, read_models
from valuegraph.training.data.negatives import Negative


class ChatMessage(BaseModel):
    """One text chat message."""

    model_config = ConfigDict(extra="forbid")
    role: str = Field(min_length=1)
    content: str


Turn = str | list[ChatMessage]
"""A prompt or completion: plain text (TRL's standard format) or messages (conversational)."""


class D2ORecord(BaseModel):
    """A negative and K self-samples for one prompt."""

    model_config = ConfigDict(extra="ignore")
    prompt: Turn
    rejected: Turn
    self_samples: list[Turn] = Field(min_length=1)


def d2o_record(negative: Negative, self_samples: Sequence[str]) -> dict[str, Any]:
    """The conversational D²O record for one negative (TRL's prompt/completion message lists)."""
    return {
        "prompt": [{"role": "user", "content": negative.prompt}],
        "rejected": [{"role": "assistant", "content": negative.rejected}],
        "self_samples": [[{"role": "assistant", "content": text}] for text in self_samples],
    }


def _is_text(turn: Turn) -> bool:
    return isinstance(turn, str)


def load_d2o_records(path: Path | str, k: int) -> list[dict[str, Any]]:
    """Reads and validates a D²O JSONL file: fields, K self-samples each, one format throughout.

    Raises:
        FileError: Naming the file and line of the first bad record.
    """
    records = []
    text_format = None
    for line, record in read_models(path, D2ORecord):
        if len(record.self_samples) != k:
            raise FileError(
                path,
                f"field 'self_samples': expected K={k} samples, got {len(record.self_samples)}",
                line,
            )
        turns = [record.prompt, record.rejected, *record.self_samples]
        kinds = {_is_text(turn) for turn in turns}
        if len(kinds) > 1:
            raise FileError(path, "mixes plain-text and message-list fields; use one format", line)
        if text_format is None:
            text_format = kinds.pop()
        elif kinds.pop() != text_format:
            raise FileError(path, "format differs from the first record (text vs messages)", line)
        records.append(record.model_dump())
    return records
