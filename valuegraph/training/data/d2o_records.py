"""The D²O record ``{prompt, rejected, self_samples[K]}``: building one and validating a file."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from valuegraph.tools.files import FileError, first_error, iter_jsonl
from valuegraph.training.data.negatives import Negative


class ChatMessage(BaseModel):
    """One text chat message."""

    model_config = ConfigDict(extra="forbid")
    role: str = Field(min_length=1)
    content: str


PROMPT_TEMPLATES = {
    "alpaca": (
        "Below is an instruction that describes a task. Write a response that appropriately "
        "completes the request.\n\n### Instruction:\n{prompt}\n\n### Response:"
    ),
}
"""Named text templates for models without a chat template (``prompt_template: alpaca``): the
Stanford Alpaca instruction format, the prompt format of D²O's main backbone (Alpaca-7B)."""


def resolve_template(template: str | None) -> str | None:
    """A preset's text, or the template as given."""
    return PROMPT_TEMPLATES.get(template, template) if template is not None else None


def _content(turn: Any) -> str:
    return turn if isinstance(turn, str) else turn[-1]["content"]


def to_text_records(records: Sequence[dict[str, Any]], template: str) -> list[dict[str, Any]]:
    """Chat records as text records, the prompt formatted by ``template``."""
    out = []
    for record in records:
        text = {"prompt": template.format(prompt=_content(record["prompt"])),
                "rejected": _content(record["rejected"]),
                "self_samples": [_content(s) for s in record["self_samples"]]}
        if record.get("self_samples_truncated") is not None:
            text["self_samples_truncated"] = record["self_samples_truncated"]
        out.append(text)
    return out


Turn = str | list[ChatMessage]
"""A prompt or completion: plain text (TRL's standard format) or messages (conversational)."""


class D2ORecord(BaseModel):
    """A negative and K self-samples for one prompt."""

    model_config = ConfigDict(extra="ignore")
    prompt: Turn
    rejected: Turn
    self_samples: list[Turn] = Field(min_length=1)
    self_samples_truncated: list[bool] | None = None
    """Per self-sample: cut at the sampling length limit (trained without an end of turn)."""


def d2o_record(negative: Negative, self_samples: Sequence[str], *,
               truncated: Sequence[bool] | None = None,
               template: str | None = None) -> dict[str, Any]:
    """The D²O record for one negative: conversational (TRL's prompt/completion message
    lists), or plain text with the prompt formatted by ``template`` (``{prompt}``) for models
    without a chat template. ``truncated`` flags samples cut at the length limit."""
    if template is not None:
        record: dict[str, Any] = {
            "prompt": template.format(prompt=negative.prompt), "rejected": negative.rejected,
            "self_samples": list(self_samples), "source_prompt": negative.prompt}
    else:
        record = {
            "prompt": [{"role": "user", "content": negative.prompt}],
            "rejected": [{"role": "assistant", "content": negative.rejected}],
            "self_samples": [[{"role": "assistant", "content": text}] for text in self_samples],
        }
    if truncated is not None:
        record["self_samples_truncated"] = [bool(t) for t in truncated]
    return record


def _is_text(turn: Turn) -> bool:
    return isinstance(turn, str)


def _read_records(path: Path | str) -> list[tuple[int, D2ORecord]]:
    """The records of a D²O file, skipping the self-sampler's ``dropped_prompt`` lines."""
    out = []
    for line, obj in iter_jsonl(path):
        if isinstance(obj, str):
            raise FileError(path, obj, line)
        if isinstance(obj, dict) and set(obj) == {"dropped_prompt"}:
            continue
        try:
            out.append((line, D2ORecord.model_validate(obj)))
        except ValidationError as error:
            raise FileError(path, first_error(error), line) from None
    if not out:
        raise FileError(path, "no records")
    return out


def is_text_records(records: Sequence[dict[str, Any]]) -> bool:
    """Whether the records are plain text (TRL's standard format) rather than chat messages."""
    return bool(records) and isinstance(records[0]["prompt"], str)


def load_d2o_records(path: Path | str, k: int) -> list[dict[str, Any]]:
    """Reads and validates a D²O JSONL file: fields, K self-samples each, one format throughout.

    Raises:
        FileError: Naming the file and line of the first bad record.
    """
    records = []
    text_format = None
    for line, record in _read_records(path):
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
        flags = record.self_samples_truncated
        if flags is not None and len(flags) != k:
            raise FileError(path, f"field 'self_samples_truncated': expected {k} flags, got "
                            f"{len(flags)}", line)
        records.append(record.model_dump(exclude_none=True))
    return records
