"""A leaderboard directory: what it evaluates, what it has measured, and the calls it made.

    <board>/board.json      models, item sources, person profiles, cultures, measured settings
    <board>/answers.jsonl   one CompassAnswer per (model, item): appended and fsynced as each
                            pair finishes, so a killed run loses nothing finished
    <board>/cache/          the completion cache: a pair cut short replays its finished calls
    <board>/leaderboard.*, report.html, alignment.csv, platform/   the outputs (rewritten)

A board grows: running it again with another model or another release adds them to what it
already holds and measures only the (model, item) pairs it has no answer for. The settings that
shape answers (judge, prompts, sampling, ...) are fixed when the board is made; a different one
is refused (start another board).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from valuegraph.config import ConfigError
from valuegraph.evals.compass.items import ItemSource, distinct_labels, load_sources
from valuegraph.evals.compass.measure import MEASURED_FIELDS, CompassAnswer, CompassSettings
from valuegraph.tools.files import FileError, first_error, write_atomic
from valuegraph.tools.results import ResultLog
from valuegraph.tools.secrets import redact
from valuegraph.values.pluralistic import (
    TargetProfile,
    culture_profiles,
    load_person_profile,
)

BOARD_FILE = "board.json"
ANSWERS_FILE = "answers.jsonl"
SCHEMA = "valuegraph-compass-board/1"


@dataclass
class BoardSpec:
    """What a board evaluates (its ``board.json``)."""

    models: list[str] = field(default_factory=list)
    sources: list[dict[str, str]] = field(default_factory=list)
    """``{"system", "path"}`` of every item source, in the order added."""
    persons: list[str] = field(default_factory=list)
    """Paths of person profile files."""
    cultures: list[str] | None = None
    """Culture codes to align with (None: every shipped one)."""
    settings: dict[str, Any] = field(default_factory=dict)
    """The measured settings (:data:`MEASURED_FIELDS`)."""
    api_bases: dict[str, str] = field(default_factory=dict)
    """Server address per model spec (the last one given wins)."""

    def to_json(self) -> dict[str, Any]:
        return {"schema": SCHEMA, "models": self.models, "sources": self.sources,
                "persons": self.persons, "cultures": self.cultures, "settings": self.settings,
                "api_bases": self.api_bases}


@dataclass
class Board:
    """An opened board: its spec, the items of its sources and its targets (all validated)."""

    root: Path
    spec: BoardSpec
    sources: list[ItemSource]
    targets: list[TargetProfile]
    settings: CompassSettings
    exists: bool

    @property
    def answers_path(self) -> Path:
        return self.root / ANSWERS_FILE

    def items(self) -> dict[str, list[Any]]:
        out: dict[str, list[Any]] = {}
        for source in self.sources:
            out.setdefault(source.system, []).extend(source.items)
        return out

    def save(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        write_atomic(self.root / BOARD_FILE, json.dumps(redact(self.spec.to_json()), indent=1))

    def read_answers(self) -> dict[str, CompassAnswer]:
        """Stored answers by key (the last one wins).

        Raises:
            FileError: a line that is not an answer (the file was edited or damaged).
        """
        out: dict[str, CompassAnswer] = {}
        if not self.answers_path.exists():
            return out
        for number, data in enumerate(ResultLog(self.answers_path), start=1):
            try:
                answer = CompassAnswer.model_validate(data)
            except ValidationError as exc:
                raise FileError(self.answers_path, f"record {number}: {first_error(exc)}"
                                ) from None
            out[answer.key] = answer
        return out

    def writer(self) -> ResultLog:
        return ResultLog(self.answers_path, writer=True)


def _read_spec(root: Path) -> BoardSpec | None:
    path = root / BOARD_FILE
    if not path.exists():
        if root.exists() and (not root.is_dir() or any(root.iterdir())):
            what = "a file" if not root.is_dir() else "a non-empty directory without board.json"
            raise ConfigError(f"{root} is {what}; give a new directory or an existing board")
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path}: unreadable board ({exc})") from None
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        raise ConfigError(f"{path} is not a compass board ({SCHEMA})")
    return BoardSpec(list(data.get("models", [])), list(data.get("sources", [])),
                     list(data.get("persons", [])), data.get("cultures"),
                     dict(data.get("settings", {})), dict(data.get("api_bases", {})))


def open_board(root: str | Path, *, models: Sequence[str] = (),
               sources: Sequence[tuple[str, str | Path]] = (), persons: Sequence[str | Path] = (),
               cultures: Sequence[str] | None = None,
               settings: dict[str, Any] | None = None,
               api_bases: dict[str, str] | None = None) -> Board:
    """Open (or plan) a board with what is added now; reads and checks everything, writes
    nothing (call :meth:`Board.save` once the run starts).

    Args:
        root: The board directory (new, or one with ``board.json``).
        models, sources, persons: Added to what the board holds (sources: (system, path)).
        cultures: Culture codes to align with (replaces the stored choice; None keeps it).
        api_bases: Server address per model spec (added to, or replacing, the stored ones).
        settings: Settings given now (None values: the board's, else the defaults). The
            measured ones must match the board's.

    Raises:
        ConfigError: a setting that differs from the board's, no models or no items, an
            unknown culture, a bad source or profile (one line each).
    """
    root = Path(root)
    spec = _read_spec(root)
    exists = spec is not None
    spec = spec or BoardSpec()
    given = {k: v for k, v in (settings or {}).items() if v is not None}
    for name in MEASURED_FIELDS:
        if exists and name in given and name in spec.settings and given[name] != \
                spec.settings[name]:
            raise ConfigError(f"board {root} measures with {name} = {spec.settings[name]!r}; "
                              f"got {given[name]!r} (answers would not be comparable: start "
                              "a new board)")
    try:
        merged = CompassSettings(**{**spec.settings, **given})
    except (TypeError, ValueError) as exc:
        raise ConfigError(str(exc)) from None
    spec.settings = merged.measured()
    spec.models = list(dict.fromkeys([*spec.models, *models]))
    spec.api_bases = {**spec.api_bases, **(api_bases or {})}
    known = {(s["system"], s["path"]) for s in spec.sources}
    for system, path in sources:
        resolved = str(Path(path).resolve())
        if (system, resolved) not in known:
            spec.sources.append({"system": system, "path": resolved})
            known.add((system, resolved))
    spec.persons = list(dict.fromkeys([*spec.persons, *(str(Path(p).resolve())
                                                        for p in persons)]))
    if cultures is not None:
        spec.cultures = list(dict.fromkeys(c.upper() for c in cultures))
    if not spec.models:
        raise ConfigError("no models to evaluate: give at least one --model")
    if not spec.sources:
        raise ConfigError("no items: give an AdAEM release (--release) or an item file "
                          "(--items SYSTEM=PATH)")
    loaded = distinct_labels(s for entry in spec.sources
                             for s in load_sources(entry["system"], entry["path"]))
    available = culture_profiles()
    unknown = [c for c in spec.cultures or [] if c not in available]
    if unknown:
        raise ConfigError(f"unknown culture {unknown[0]!r}; available: {', '.join(available)}")
    targets = [available[c] for c in (spec.cultures if spec.cultures is not None
                                      else list(available))]
    targets += [load_person_profile(p) for p in spec.persons]
    return Board(root, spec, loaded, targets, merged, exists)
