"""Versioned benchmark releases of a growth run: ``<run>/releases/v1``, ``v2``, ...

A release holds the kept questions not in any earlier release: not by id, not by normalised
text, and not near-duplicates by the growth rule (mean cosine similarity to the k nearest
earlier questions above ε, or a nearest one at least ``near_identical`` similar), checked
against this run's releases and any others named. Flagged and rejected questions never enter a
release. Each release directory holds ``questions.jsonl``,
``manifest.json`` (count, mean S, Self-BLEU with its settings, distinct-2, mean similarity,
pools, seed, the score's form (``score.vc_form``, ...), ...) and ``embeddings.npy`` (for later
deduplication), and appears atomically (built aside, renamed).

Releases read ``results.jsonl`` only, so ``valuegraph grow release`` can run beside a live run.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from valuegraph.graphs._shared.releases import (
    MANIFEST_FILE,
    RELEASES_DIR,
    normalise_text,
    publish,
    release_dirs,
)
from valuegraph.tools.embeddings import cosine_matrix
from valuegraph.tools.files import FileError, iter_jsonl, write_atomic
from valuegraph.tools.results import ResultLog
from valuegraph.values.diversity import diversity_report

QUESTIONS_FILE = "questions.jsonl"
EMBEDDINGS_FILE = "embeddings.npy"
RELEASE_FIELDS = ("qid", "question", "topic_id", "topic_category", "general_question",
                  "background", "S", "S_parts", "S_estimate", "round_b", "generator",
                  "parent_qid", "depth", "theory", "safety_flag")

Embed = Callable[[Sequence[str]], np.ndarray]


class ReleaseError(ValueError):
    """A release path that cannot be read."""


@dataclass(frozen=True)
class Release:
    path: Path
    manifest: dict[str, Any]
    questions: list[dict[str, Any]]

    @property
    def version(self) -> str:
        return self.manifest["version"]


def read_release(path: str | Path) -> Release:
    """A release directory, or a bare ``questions.jsonl`` (then with an empty manifest)."""
    path = Path(path)
    questions_path = path / QUESTIONS_FILE if path.is_dir() else path
    if not questions_path.is_file():
        raise ReleaseError(f"{path} is neither a release directory (with {QUESTIONS_FILE}) nor "
                           "a questions JSONL file")
    questions = []
    try:
        for number, record in iter_jsonl(questions_path, "questions file"):
            if isinstance(record, str):
                raise ReleaseError(f"{questions_path}:{number}: {record}")
            if not record.get("question"):
                raise ReleaseError(f"{questions_path}:{number}: a question record needs a "
                                   "'question' field")
            record.setdefault("qid", f"q{number}")
            questions.append(record)
    except FileError as exc:
        raise ReleaseError(str(exc)) from None
    manifest_path = questions_path.parent / MANIFEST_FILE
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8")) \
            if path.is_dir() and manifest_path.is_file() else {"version": questions_path.stem}
    except (OSError, ValueError) as exc:
        raise ReleaseError(f"{manifest_path}: unreadable manifest ({exc})") from None
    return Release(questions_path.parent if path.is_dir() else path, manifest, questions)


def recorded_questions(run_root: Path) -> list[dict[str, Any]]:
    """Question records of a run in order, first record per key (as the run reads them)."""
    seen: set[str] = set()
    out = []
    for record in ResultLog(Path(run_root) / "results.jsonl"):
        if record.get("kind") == "question" and record["key"] not in seen:
            seen.add(record["key"])
            out.append(record)
    return out


def _earlier(paths: Sequence[Path], embed: Embed) -> tuple[set[str], set[str], np.ndarray]:
    ids: set[str] = set()
    texts: set[str] = set()
    vectors = []
    for path in paths:
        release = read_release(path)
        ids.update(q["qid"] for q in release.questions)
        texts.update(normalise_text(q["question"]) for q in release.questions)
        stored = release.path / EMBEDDINGS_FILE if release.path.is_dir() else None
        if stored is not None and stored.is_file():
            vectors.append(np.load(stored))
        elif release.questions:
            vectors.append(np.asarray(embed([q["question"] for q in release.questions]),
                                      dtype=np.float32))
    matrix = np.concatenate(vectors) if vectors else np.zeros((0, 1), dtype=np.float32)
    return ids, texts, matrix


def score_forms(rows: Sequence[dict[str, Any]]) -> list[str]:
    """The R_VC forms the questions' S were computed with (``exact`` for the exact score);
    scores recorded before the form was recorded used ∪/∩, the only form then."""
    forms = set()
    for row in rows:
        extra = (row.get("S_parts") or {}).get("extra") or {}
        forms.add("exact" if extra.get("method") == "exact"
                  else extra.get("vc_form", "union_over_intersection"))
    return sorted(forms)


def write_release(
    run_root: str | Path, embed: Embed, *, against: Sequence[str | Path] = (),
    min_score: float | None = None, epsilon: float = 0.85, neighbours: int = 3,
    near_identical: float = 0.97, info: dict[str, Any] | None = None,
) -> Release | None:
    """Write the next release of the run; None when there is nothing new to release.

    Args:
        run_root: The run directory.
        embed: Sentence embedding function (MiniLM in the runner).
        against: Other releases (directories or questions files) to deduplicate against.
        min_score: Leave out questions whose final S is below this.
        epsilon, neighbours, near_identical: The near-duplicate rule (as in growth).
        info: Extra manifest fields (pools, seed, theory, run id).
    """
    root = Path(run_root)
    earlier_dirs = release_dirs(root)
    ids, texts, earlier_vectors = _earlier([*earlier_dirs, *map(Path, against)], embed)
    records = recorded_questions(root)
    excluded = {"flagged": sum(r["status"] == "flagged" for r in records),
                "rejected": sum(r["status"] == "rejected" for r in records)}
    skipped = {"released_before": 0, "near_duplicate": 0, "below_min_score": 0}
    fresh = []
    for record in records:
        if record["status"] != "kept":
            continue
        if record["qid"] in ids or normalise_text(record["question"]) in texts:
            skipped["released_before"] += 1
        elif min_score is not None and record["S"] < min_score:
            skipped["below_min_score"] += 1
        else:
            fresh.append(record)
    if not fresh:
        return None
    vectors = np.asarray(embed([r["question"] for r in fresh]), dtype=np.float32)
    keep = np.ones(len(fresh), dtype=bool)
    if len(earlier_vectors):
        sims = cosine_matrix(vectors, earlier_vectors)
        k = min(neighbours, sims.shape[1])
        top = -np.sort(-sims, axis=1)[:, :k]
        keep = (top.mean(axis=1) <= epsilon) & (top[:, 0] < near_identical)
        skipped["near_duplicate"] = int((~keep).sum())
    near = [r["qid"] for r, ok in zip(fresh, keep, strict=True) if not ok]
    fresh = [r for r, ok in zip(fresh, keep, strict=True) if ok]
    vectors = vectors[keep]
    if not fresh:
        return None
    rows = [{k: r.get(k) for k in RELEASE_FIELDS} for r in fresh]
    report = diversity_report([str(r["question"]) for r in rows], None, embeddings=vectors,
                              seed=int((info or {}).get("seed", 0) or 0))
    body = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    manifest = {
        **(info or {}), "count": len(rows),
        "mean_S": float(np.mean([r["S"] for r in rows])),
        "vc_forms": score_forms(rows),
        "self_bleu": report.self_bleu,
        "self_bleu_details": report.self_bleu_details.to_json()
        if report.self_bleu_details else None,
        "distinct_2": report.distinct_2,
        "mean_similarity": report.mean_similarity, "mean_length": report.mean_length,
        "metrics_sampled": report.sampled,
        "previous": [p.name for p in earlier_dirs], "against": [str(p) for p in against],
        "skipped": skipped, "skipped_near_duplicates": near, "excluded": excluded,
        "min_score": min_score,
        "dedup": {"epsilon": epsilon, "neighbours": neighbours,
                  "near_identical": near_identical},
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "sha256": hashlib.sha256(body.encode()).hexdigest(),
    }
    return _publish(root / RELEASES_DIR, body, manifest, vectors)


def _publish(releases: Path, body: str, manifest: dict[str, Any], vectors: np.ndarray) -> Release:
    """Build the release aside and rename it to the next free ``vN`` (atomic, race-safe)."""
    def write_files(staging: Path) -> None:
        write_atomic(staging / QUESTIONS_FILE, body)
        np.save(staging / EMBEDDINGS_FILE, vectors)

    path = publish(releases, write_files, manifest)
    return Release(path, manifest, [json.loads(x) for x in body.splitlines()])


def unreleased_count(run_root: str | Path) -> int:
    """Kept questions that no release of the run has taken or passed over."""
    root = Path(run_root)
    considered: set[str] = set()
    for path in release_dirs(root):
        release = read_release(path)
        considered.update(q["qid"] for q in release.questions)
        considered.update(release.manifest.get("skipped_near_duplicates", []))
    return sum(r["status"] == "kept" and r["qid"] not in considered
               for r in recorded_questions(root))
