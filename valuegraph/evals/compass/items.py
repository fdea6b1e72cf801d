"""Test items of the Value Compass, one kind per value system (spec §2.2), and where they come from.

- ``schwartz``: controversial yes/no questions, from an AdAEM release (``<run>/releases/vN``),
  a growth run (all its releases) or a questions JSONL (``question``, ``qid``?).
- ``mft``: story openings and the principle each probes, from a DeNEVIL run (its exported
  dataset) or a MoralPrompt JSONL/CSV (``prompt``, ``principle``, ``foundation``, ``id``?).
- ``risk``: requests in one safety domain, JSONL/CSV (``prompt``, ``domain`` as a code or the
  platform's name, ``id``?).
- ``fulva``: sentences to complete, each probing one LLM-specific value, JSONL/CSV
  (``prompt``, ``dimension``, ``id``?).

Generative evolving evaluation: every source carries a *release* label (an AdAEM release's
version, a DeNEVIL run's name, a file's stem), new releases are added to a board next to the
old ones, and the leaderboard reports each release apart as well as all together. An item is
known by a digest of its content, so a stored answer is reused whatever release lists it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from valuegraph.tools.files import FileError, read_rows
from valuegraph.values.theories import THEORIES

SYSTEMS = ("schwartz", "mft", "risk", "fulva")
"""The value systems of the compass, in report order."""
PLATFORM_KEYS = {"schwartz": "Schwartz", "mft": "MFT", "risk": "Risk", "fulva": "FULVa"}
"""The platform's file prefix per system (``<key>_scores.json``, spec §2.6)."""
_FIELD = {"risk": "domain", "fulva": "dimension"}


class SourceError(ValueError):
    """An item source that cannot be used (one line)."""


@dataclass(frozen=True)
class CompassItem:
    """One test item.

    Attributes:
        system: The value system it measures.
        release: The release label of its source.
        id: Its id in the source (for people; answers are keyed by :attr:`digest`).
        text: The question, story opening, request or sentence stem.
        dimension: The dimension code it probes; None for a Schwartz question (it probes all).
        principle: MFT: the principle the story probes.
    """

    system: str
    release: str
    id: str
    text: str
    dimension: str | None = None
    principle: str = ""

    @property
    def digest(self) -> str:
        payload = json.dumps([self.system, self.text, self.dimension, self.principle])
        return hashlib.sha256(payload.encode()).hexdigest()[:24]


@dataclass(frozen=True)
class ItemSource:
    """The items of one source (one release of one system)."""

    system: str
    path: Path
    release: str
    items: tuple[CompassItem, ...]

    def to_json(self) -> dict[str, Any]:
        return {"system": self.system, "path": str(self.path), "release": self.release,
                "items": len(self.items)}


def parse_source_arg(text: str) -> tuple[str, Path]:
    """``SYSTEM=PATH`` (``--items``) -> (system, path).

    Raises:
        SourceError: no ``=``, or an unknown system.
    """
    system, sep, path = text.partition("=")
    system = system.strip().lower()
    if not sep or not path.strip():
        raise SourceError(f"--items expects SYSTEM=PATH with SYSTEM one of "
                          f"{', '.join(SYSTEMS)}, got {text!r}")
    if system not in SYSTEMS:
        raise SourceError(f"unknown value system {system!r} in --items {text!r}; allowed: "
                          f"{', '.join(SYSTEMS)}")
    return system, Path(path.strip())


def _release_sources(path: Path) -> list[ItemSource]:
    """An AdAEM release directory, a growth run (every release), or a questions JSONL."""
    from valuegraph.graphs.adaem.release import ReleaseError, read_release, release_dirs

    paths = release_dirs(path) if path.is_dir() and not (path / "questions.jsonl").exists() \
        else [path]
    if path.is_dir() and not paths:
        raise SourceError(f"{path} is neither an AdAEM release (with questions.jsonl) nor a "
                          "growth run with releases/vN")
    out = []
    for one in paths:
        try:
            release = read_release(one)
        except ReleaseError as exc:
            raise SourceError(str(exc)) from None
        theory = release.manifest.get("theory", "schwartz")
        if theory != "schwartz":
            raise SourceError(f"{one} is an AdAEM {theory} release; the compass measures "
                              "Schwartz values with AdAEM questions and moral foundations with "
                              "DeNEVIL stories (--items mft=...); profile it with `valuegraph "
                              "bench values --theory mft`")
        label = str(release.manifest.get("version") or one.stem)
        items = [CompassItem("schwartz", label, str(q["qid"]), str(q["question"]).strip())
                 for q in release.questions]
        out.append(ItemSource("schwartz", one.resolve(), label, tuple(items)))
    return out


def _moral_source(path: Path) -> ItemSource:
    from valuegraph.evals.moral_bench import load_prompts

    try:
        prompts = load_prompts(path)
    except ValueError as exc:  # FileError is one
        raise SourceError(str(exc)) from None
    label = path.name if path.is_dir() else path.stem
    items = [CompassItem("mft", label, p.id, p.prompt, p.foundation, p.principle)
             for p in prompts]
    return ItemSource("mft", path.resolve(), label, tuple(items))


def _row_source(system: str, path: Path) -> ItemSource:
    """Requests (risk) or sentence stems (fulva): ``prompt`` and the dimension field."""
    theory = THEORIES[system]
    field = _FIELD[system]
    items, problems, seen = [], [], set()
    try:
        for line, row in read_rows(path, f"{system} item file"):
            if isinstance(row, str):
                problems.append(f"line {line}: {row}")
                continue
            text = str(row.get("prompt") or "").strip()
            if not text:
                problems.append(f"line {line}: 'prompt' is required")
                continue
            try:
                code = theory.get(str(row.get(field) or "").strip()).code
            except KeyError:
                problems.append(f"line {line}: {field} {row.get(field)!r} is not one of "
                                f"{', '.join(theory.codes)}")
                continue
            item_id = str(row.get("id") or f"{path.stem}-{line}")
            if item_id in seen:
                problems.append(f"line {line}: duplicate id {item_id!r}")
                continue
            seen.add(item_id)
            items.append(CompassItem(system, path.stem, item_id, text, code))
    except FileError as exc:
        raise SourceError(str(exc)) from None
    if problems:
        raise SourceError(f"{path}: {len(problems)} bad row(s): " + "; ".join(problems[:5]))
    if not items:
        raise SourceError(f"{path}: no items (columns: prompt, {field}, id?)")
    return ItemSource(system, path.resolve(), path.stem, tuple(items))


def load_sources(system: str, path: str | Path) -> list[ItemSource]:
    """The item sources a ``--release`` / ``--items`` argument names.

    Raises:
        SourceError: missing or unreadable, wrong kind of file, bad rows (one line).
    """
    path = Path(path)
    if not path.exists():
        raise SourceError(f"{path}: no such file or directory")
    if system == "schwartz":
        sources = _release_sources(path)
    elif system == "mft":
        sources = [_moral_source(path)]
    elif system in _FIELD:
        sources = [_row_source(system, path)]
    else:
        raise SourceError(f"unknown value system {system!r}; allowed: {', '.join(SYSTEMS)}")
    empty = [s.path for s in sources if not s.items]
    if empty:
        raise SourceError(f"{empty[0]} holds no items")
    return sources


def distinct_labels(sources: Iterable[ItemSource]) -> list[ItemSource]:
    """The sources with release labels made unique per system (``v1`` of two runs becomes
    ``<run>/v1`` for both), in order, without repeated paths."""
    unique: dict[tuple[str, Path], ItemSource] = {}
    for source in sources:
        unique.setdefault((source.system, source.path), source)
    kept = list(unique.values())
    counts: dict[tuple[str, str], int] = {}
    for source in kept:
        counts[(source.system, source.release)] = counts.get((source.system, source.release),
                                                             0) + 1
    out = []
    for source in kept:
        if counts[(source.system, source.release)] > 1:
            owner = source.path.parent.parent.name if source.path.parent.name == "releases" \
                else source.path.parent.name
            label = f"{owner}/{source.release}"
            source = ItemSource(source.system, source.path, label, tuple(
                CompassItem(i.system, label, i.id, i.text, i.dimension, i.principle)
                for i in source.items))
        out.append(source)
    return out
