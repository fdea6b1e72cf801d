"""A growth run (AdAEM) at a glance: kept questions per step over time, mean S, the bandit's
arm pulls, the latest questions with the parts of their S, and the releases.

Everything comes from the run's own files: ``results.jsonl`` (``question`` and ``step``
records, first record per key as the run reads them), ``topics.jsonl``, ``status.json``
(``progress``) and ``releases/v<n>/`` (manifest and questions; a release appears atomically).
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from valuegraph.graphs._shared.releases import release_dirs
from valuegraph.tools.files import FileError, iter_jsonl
from valuegraph.view import charts

TOPICS_FILE = "topics.jsonl"
S_PARTS = ("VC", "VD", "OD", "Dis")
"""The terms of AdAEM's informativeness score S (values.informativeness.ScoreParts)."""
RECENT = 50


@dataclass(frozen=True)
class StepPoint:
    step: int
    arm: str
    kept: int
    """Questions kept by this step."""
    kept_total: int
    mean_s: float | None
    """Mean final S of the questions kept so far."""
    reward: float
    created: float | None


@dataclass(frozen=True)
class Arm:
    topic_id: str
    topic: str
    pulls: int
    value: float


@dataclass(frozen=True)
class ReleaseInfo:
    version: str
    manifest: dict[str, Any]
    questions: list[dict[str, Any]]


@dataclass
class GrowthView:
    steps: list[StepPoint] = field(default_factory=list)
    arms: list[Arm] = field(default_factory=list)
    recent: list[dict[str, Any]] = field(default_factory=list)
    """The latest questions, newest first."""
    status_counts: dict[str, int] = field(default_factory=dict)
    releases: list[ReleaseInfo] = field(default_factory=list)
    progress: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def kept(self) -> int:
        return self.status_counts.get("kept", 0)

    @property
    def mean_s(self) -> float | None:
        return self.steps[-1].mean_s if self.steps else None

    def kept_chart(self) -> str:
        return charts.line_chart({
            "kept (total)": [(p.step, p.kept_total) for p in self.steps],
            "kept this step": [(p.step, p.kept) for p in self.steps]},
            x_label="step", y_label="questions", name="kept")

    def mean_s_chart(self) -> str:
        return charts.line_chart({
            "mean S of kept": [(p.step, p.mean_s) for p in self.steps if p.mean_s is not None],
            "step reward": [(p.step, p.reward) for p in self.steps]},
            x_label="step", y_label="S", name="mean-s")

    def arms_chart(self) -> str:
        return charts.bar_chart([charts.Bar(f"{a.topic_id} ({a.pulls})", float(a.pulls),
                                            note=f"Q {a.value:.3g}; {a.topic}")
                                 for a in self.arms], name="arms")


def first_per_key(records: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    """Records of ``kind`` in file order, the first per key (as the growth store reads them)."""
    seen: set[str] = set()
    out = []
    for record in records:
        if record.get("kind") == kind and record.get("key") not in seen:
            seen.add(str(record.get("key")))
            out.append(record)
    return out


def read_topics(root: Path) -> dict[str, str]:
    path = root / TOPICS_FILE
    if not path.is_file():
        return {}
    topics = {}
    for _, row in iter_jsonl(path, "topics file"):
        if isinstance(row, dict) and row.get("topic_id"):
            topics[str(row["topic_id"])] = str(row.get("topic", ""))
    return topics


def read_releases(root: Path) -> list[ReleaseInfo]:
    """``releases/v<n>`` oldest first, each with its manifest and questions."""
    releases = []
    for path in release_dirs(root):
        try:
            manifest = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
            questions = [row for _, row in iter_jsonl(path / "questions.jsonl", "release")
                         if isinstance(row, dict)]
        except (OSError, ValueError, FileError):
            continue
        releases.append(ReleaseInfo(path.name, manifest, questions))
    return releases


def growth_view(root: Path, records: list[dict[str, Any]], status: dict[str, Any]
                ) -> GrowthView:
    view = GrowthView(progress=status.get("progress") or {})
    questions = first_per_key(records, "question")
    steps = sorted(first_per_key(records, "step"), key=lambda r: int(r.get("step", 0)))
    kept_by_step: Counter[int] = Counter()
    kept_s: dict[int, list[float]] = {}
    for q in questions:
        if q.get("status") == "kept" and isinstance(q.get("S"), int | float):
            kept_by_step[int(q.get("round_b", 0))] += 1
            kept_s.setdefault(int(q.get("round_b", 0)), []).append(float(q["S"]))
    total, s_sum = 0, 0.0
    for s in steps:
        step = int(s["step"])
        total += kept_by_step[step]
        s_sum += sum(kept_s.get(step, []))
        view.steps.append(StepPoint(step, str(s.get("arm", "")), kept_by_step[step], total,
                                    s_sum / total if total else None,
                                    float(s.get("reward", 0.0)), s.get("created")))
    try:
        topics = read_topics(root)
    except FileError as exc:
        topics = {}
        view.notes.append(str(exc))
    pulls: dict[str, tuple[int, float]] = {}
    for s in steps:  # each step record holds its arm's statistics after the update
        pulls[str(s.get("arm", ""))] = (int(s.get("count", 0)), float(s.get("value", 0.0)))
    view.arms = sorted((Arm(arm, topics.get(arm, ""), count, value)
                        for arm, (count, value) in pulls.items()),
                       key=lambda a: (-a.pulls, -a.value, a.topic_id))
    view.status_counts = dict(Counter(str(q.get("status")) for q in questions))
    view.recent = list(reversed(questions[-RECENT:]))
    view.releases = read_releases(root)
    return view
