"""Versioned MoHoBench releases of a construction run: ``<run>/releases/v1``, ``v2``, ...

A release holds the kept questions not in an earlier release of the run (by id, or by the same
image and normalised question), with their images copied in, so it is self-contained:
``questions.jsonl`` (MoHoBench's fields: ``qid, image, question, category, reason, caption``,
plus lineage), ``images/``, ``answerable.jsonl`` (questions the synthetic images do answer,
with a correct and a wrong reply: the answerable mix of honesty training) and ``manifest.json``
(counts per type, models, seed, the filter's settings, a SHA-256 of the questions). Following
the paper, only images whose kept questions cover every type enter (``require_all_types``;
spec §3.3 step 5). A release is built aside and renamed into place (atomic, race-safe).

:func:`read_benchmark` reads a release, or any MoHoBench-style JSONL (``image`` or
``image_path`` relative to the file), for ``valuegraph bench honesty``.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, ValidationError

from valuegraph.graphs._shared.records import RESULTS_FILE, RecordLog, latest_by_item
from valuegraph.graphs._shared.releases import (
    MANIFEST_FILE,
    RELEASES_DIR,
    normalise_text,
    publish,
    release_dirs,
)
from valuegraph.graphs.mohobench.records import Category, ImageRecord
from valuegraph.graphs.mohobench.scenes import Scene, scene_index
from valuegraph.graphs.mohobench.sources import image_bytes
from valuegraph.tools.files import FileError, first_error, iter_jsonl, write_atomic
from valuegraph.values.theories import HONESTY_TYPES

QUESTIONS_FILE = "questions.jsonl"
ANSWERABLE_FILE = "answerable.jsonl"
IMAGES_DIR = "images"


class ReleaseError(ValueError):
    """A benchmark path that cannot be read; the message is one line."""


@dataclass(frozen=True)
class Release:
    path: Path
    manifest: dict[str, Any]

    @property
    def version(self) -> str:
        return self.manifest["version"]


def _released(run_root: Path) -> tuple[set[str], set[tuple[str, str]]]:
    ids: set[str] = set()
    pairs: set[tuple[str, str]] = set()
    for path in release_dirs(run_root):
        for _, row in iter_jsonl(path / QUESTIONS_FILE, "questions file"):
            if isinstance(row, dict):
                ids.add(str(row.get("qid")))
                pairs.add((str(row.get("image_sha256")), normalise_text(str(row.get("question")))))
    return ids, pairs


def image_records(run_root: Path) -> list[ImageRecord]:
    """The last record of every image of the run, in file order."""
    latest = latest_by_item(RecordLog(Path(run_root) / RESULTS_FILE))
    return [ImageRecord.model_validate(r) for r in latest.values()
            if r.get("kind") == "mohobench_image"]


def write_release(run_root: str | Path, *, require_all_types: bool = True,
                  categories: tuple[str, ...] = HONESTY_TYPES.codes,
                  info: dict[str, Any] | None = None) -> Release | None:
    """Write the run's next release; None when nothing new qualifies.

    Args:
        run_root: The run directory.
        require_all_types: Only images whose kept questions cover every one of ``categories``.
        categories: The types a run wrote (the coverage rule's set).
        info: Extra manifest fields (run id, models, seed, settings).
    """
    root = Path(run_root)
    ids, pairs = _released(root)
    skipped = Counter()
    rows: list[dict[str, Any]] = []
    answerable: list[dict[str, Any]] = []
    images: dict[str, tuple[bytes, str]] = {}
    for record in image_records(root):
        kept = record.kept()
        if require_all_types and {c.category for c in kept} < set(categories):
            skipped["images_missing_a_type"] += 1
            continue
        fresh = [c for c in kept if c.qid not in ids
                 and (record.image_sha256, normalise_text(c.question)) not in pairs]
        if len(fresh) < len(kept):
            skipped["released_before"] += len(kept) - len(fresh)
        if not fresh:
            continue
        data, suffix = image_bytes(record.image)
        name = f"{IMAGES_DIR}/{record.image_id}{suffix}"
        images[name] = (data, suffix)
        for c in fresh:
            rows.append({"qid": c.qid, "image": name, "image_id": record.image_id,
                         "image_sha256": record.image_sha256, "question": c.question,
                         "category": c.category, "reason": c.reason, "caption": c.caption,
                         "generator": c.generator, "dishonest": c.dishonest,
                         "panel_size": len(c.answers), "content": record.content})
        index = scene_index(record.image)
        if index is not None:
            answerable += [{"id": f"{record.image_id}-A{i}", "image": name, **pair}
                           for i, pair in enumerate(Scene.from_index(index).answerable())]
    if not rows:
        return None
    body = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    manifest = {
        **(info or {}), "count": len(rows),
        "by_category": dict(Counter(r["category"] for r in rows)),
        "images": len(images), "answerable": len(answerable),
        "require_all_types": require_all_types, "categories": list(categories),
        "skipped": dict(skipped), "previous": [p.name for p in release_dirs(root)],
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "sha256": hashlib.sha256(body.encode()).hexdigest(),
    }
    extra = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in answerable)
    return _publish(root / RELEASES_DIR, body, extra, images, manifest)


def _publish(releases: Path, body: str, answerable: str, images: dict[str, tuple[bytes, str]],
             manifest: dict[str, Any]) -> Release:
    """Build the release aside, then rename it to the next free ``vN``."""
    def write_files(staging: Path) -> None:
        (staging / IMAGES_DIR).mkdir()
        for name, (data, _) in images.items():
            (staging / name).write_bytes(data)
        write_atomic(staging / QUESTIONS_FILE, body)
        if answerable:
            write_atomic(staging / ANSWERABLE_FILE, answerable)

    return Release(publish(releases, write_files, manifest), manifest)


# -- reading a benchmark ---------------------------------------------------------------------

class BenchQuestion(BaseModel):
    """One benchmark question as ``bench honesty`` reads it (MoHoBench's field names too)."""

    model_config = ConfigDict(extra="ignore")
    qid: str = ""
    question: str = Field(min_length=1)
    category: Category
    image: str = Field(min_length=1, validation_alias=AliasChoices("image", "image_path"))
    reason: str = ""


@dataclass(frozen=True)
class Benchmark:
    path: Path
    manifest: dict[str, Any]
    questions: list[BenchQuestion]

    @property
    def name(self) -> str:
        return str(self.manifest.get("version") or self.path.name)


def read_benchmark(path: str | Path) -> Benchmark:
    """A release directory or a questions JSONL, every image resolved and present.

    Raises:
        ReleaseError: not a release or JSONL, a bad line, a missing image, no questions.
    """
    path = Path(path)
    file = path / QUESTIONS_FILE if path.is_dir() else path
    if not file.is_file() or file.suffix != ".jsonl":
        raise ReleaseError(f"{path} is neither a release directory (with {QUESTIONS_FILE}) nor "
                           "a questions .jsonl file")
    questions, seen = [], set()
    try:
        for line, row in iter_jsonl(file, "questions file"):
            if isinstance(row, str):
                raise ReleaseError(f"{file}:{line}: {row}")
            try:
                item = BenchQuestion.model_validate(row)
            except ValidationError as exc:
                raise ReleaseError(f"{file}:{line}: {first_error(exc)}") from None
            image = Path(item.image) if Path(item.image).is_absolute() else file.parent / item.image
            if not image.is_file():
                raise ReleaseError(f"{file}:{line}: image file not found: {item.image}")
            qid = item.qid or f"q{line}"
            if qid in seen:
                raise ReleaseError(f"{file}:{line}: duplicate qid {qid!r}")
            seen.add(qid)
            questions.append(item.model_copy(update={"qid": qid, "image": str(image.resolve())}))
    except FileError as exc:
        raise ReleaseError(str(exc)) from None
    if not questions:
        raise ReleaseError(f"{file}: no questions")
    manifest_path = file.parent / MANIFEST_FILE
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8")) \
            if manifest_path.is_file() else {"version": file.stem}
    except (OSError, ValueError) as exc:
        raise ReleaseError(f"{manifest_path}: unreadable manifest ({exc})") from None
    return Benchmark(file.parent if path.is_dir() else file, manifest, questions)
