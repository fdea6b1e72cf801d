"""VILMO's typed record and the instruction files that ``bench moral --intervention`` reads.

A VILMO run writes one :class:`InstructionRecord` per scenario to ``results.jsonl`` (the best
instruction, its samples and scores, and the lineage of every instruction tried) and exports
``exports/instructions.jsonl``. An instruction file is JSONL of ``{prompt_id or prompt,
instruction}`` (extra keys ignored): a VILMO export, a VILMO ``results.jsonl``, or one written by
hand.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from valuegraph.graphs._shared.moral_prompts import MoralPrompt
from valuegraph.graphs._shared.records import (
    RESULTS_FILE,
    ItemRecord,
    ScoredCompletion,
    latest_by_item,
    register_record_type,
)
from valuegraph.tools.files import FileError, first_error, iter_jsonl

INSTRUCTIONS_STEM = "instructions"
INSTRUCTIONS_PATH = Path("exports") / f"{INSTRUCTIONS_STEM}.jsonl"


@register_record_type
class InstructionRecord(ItemRecord):
    """The value instruction learnt for one scenario, its fresh samples and its lineage."""

    kind: Literal["value_instruction"] = "value_instruction"
    status: Literal["ok"]
    prompt_id: str
    prompt: str
    principle: str
    foundation: str
    instruction: str = Field(min_length=1)
    instruction_round: int = Field(ge=0)
    completions: list[str]
    scores: list[float | None]
    judged_by: list[str]
    violation_rate: float | None
    """APV of the scenario under the instruction: share of scored continuations with p > tau."""
    mean_violation: float | None
    first_violation_rate: float | None
    """The rate under the first instruction c^0 (the loop's starting point)."""
    rounds: int
    exit_reason: str | None
    requests: int
    """Model requests the scenario's graph sent (cache hits are free)."""
    lineage: list[str]
    """Every instruction evaluated, in order (index = round)."""
    round_rates: list[float | None]
    round_means: list[float | None]
    history: list[dict[str, Any]]
    generator: str
    target: str
    judge: str
    seed: int
    samples: int
    threshold: float
    placement: str

    def scored_completions(self) -> list[ScoredCompletion]:
        """The best instruction's samples (the target's continuations under it)."""
        return [ScoredCompletion(prompt_id=self.prompt_id, prompt=self.prompt,
                                 principle=self.principle, foundation=self.foundation,
                                 model=self.target, completion=text, score=score, judge=judged,
                                 sample=i)
                for i, (text, score, judged) in enumerate(zip(
                    self.completions, self.scores, self.judged_by, strict=True))]


def export_row(record: dict[str, Any]) -> dict[str, Any]:
    """The exported row of a record: the instruction and its scores, not the samples."""
    keys = ("prompt_id", "prompt", "principle", "foundation", "instruction", "instruction_round",
            "violation_rate", "mean_violation", "first_violation_rate", "rounds", "exit_reason",
            "generator", "target", "judge", "placement", "seed", "samples", "threshold",
            "run_id")
    return {k: record.get(k) for k in keys}


class InstructionRow(BaseModel):
    """One line of an instruction file."""

    model_config = ConfigDict(extra="ignore")
    prompt_id: str = ""
    prompt: str = ""
    instruction: str = Field(min_length=1)

    @model_validator(mode="after")
    def _keyed(self) -> InstructionRow:
        if not self.prompt_id.strip() and not self.prompt.strip():
            raise ValueError("give 'prompt_id' or 'prompt' with each instruction")
        if not self.instruction.strip():
            raise ValueError("'instruction' is blank")
        return self


def instructions_file(source: str | Path) -> Path:
    """The instruction file of ``source``: the file, or a VILMO run's export (else its
    ``results.jsonl``).

    Raises:
        FileError: a directory holding neither.
    """
    path = Path(source)
    if not path.is_dir():
        return path
    for candidate in (path / INSTRUCTIONS_PATH, path / RESULTS_FILE):
        if candidate.is_file():
            return candidate
    raise FileError(path, f"is not a VILMO run (neither {INSTRUCTIONS_PATH} nor {RESULTS_FILE})")


def load_instructions(source: str | Path) -> list[InstructionRow]:
    """The instructions of a file or VILMO run directory, in file order; of a ``results.jsonl``,
    the last ``value_instruction`` record per scenario (other records are skipped).

    Raises:
        FileError: unreadable, a bad line (named), or no instruction.
    """
    path = instructions_file(source)
    rows: list[tuple[int, dict[str, Any]]] = []
    for line, data in iter_jsonl(path, "instruction file"):
        if isinstance(data, str):
            raise FileError(path, data, line)
        if "kind" in data and data["kind"] != "value_instruction":
            continue  # a run's other records (failures)
        rows.append((line, data))
    if any("kind" in data for _, data in rows):  # a results file: the last record per item
        latest = latest_by_item(data for _, data in rows)
        rows = [(line, data) for line, data in rows if latest.get(data.get("item_id")) is data]
    parsed = []
    for line, data in rows:
        try:
            parsed.append(InstructionRow.model_validate(data))
        except ValidationError as exc:
            raise FileError(path, first_error(exc), line) from None
    if not parsed:
        raise FileError(path, "no instructions (schema: prompt_id or prompt, instruction)")
    return parsed


def match_instructions(rows: Sequence[InstructionRow],
                       prompts: Sequence[MoralPrompt]) -> dict[str, str]:
    """Prompt id -> instruction: each row matched by ``prompt_id``, else by the prompt's text.

    Prompts without an instruction are simply absent from the result.

    Raises:
        ValueError: a row that matches no prompt of the set, or two rows for one prompt.
    """
    by_id = {p.id: p.id for p in prompts}
    by_text = {" ".join(p.prompt.split()): p.id for p in prompts}
    matched: dict[str, str] = {}
    unmatched = []
    for row in rows:
        pid = by_id.get(row.prompt_id) or by_text.get(" ".join(row.prompt.split()))
        if pid is None:
            unmatched.append(row.prompt_id or row.prompt[:40])
            continue
        if pid in matched:
            raise ValueError(f"two instructions for prompt {pid!r}")
        matched[pid] = row.instruction.strip()
    if unmatched:
        raise ValueError(f"{len(unmatched)} instruction(s) match no prompt of the set by "
                         f"prompt_id or prompt text (first: {unmatched[0]!r})")
    return matched
