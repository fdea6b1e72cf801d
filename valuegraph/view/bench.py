"""Benchmark outputs as pages: ``bench moral`` (``moral_scores.csv``, ``samples.jsonl``) and
``bench values`` (``summary.json``, ``profiles.csv``, ``answers.jsonl``).

A moral benchmark still running has ``samples.jsonl`` growing and no CSV yet; the page then
shows the samples so far. Per-item drill-down reuses :class:`~valuegraph.view.items.ItemView`:
a prompt with one round per model (its scored completions), a question with one round per
model (its stance and value-labelled points).
"""

from __future__ import annotations

import csv
import json
import math
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from valuegraph.tools.files import FileError, iter_jsonl
from valuegraph.view import charts
from valuegraph.view.items import ItemView, Output, Round, fmt
from valuegraph.view.sources import read_records

METRICS = ("evr", "mvp", "apv")
ALL = "all"


def _float(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _mean(values: list[float | None]) -> float | None:
    scored = [v for v in values if v is not None]
    return sum(scored) / len(scored) if scored else None


@dataclass
class MoralBench:
    """Leaderboard rows (model x foundation) and the scored samples by model and prompt."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    samples: dict[str, dict[str, list[dict[str, Any]]]] = field(default_factory=dict)
    """model -> prompt id -> its completions (sample order)."""
    prompts: dict[str, dict[str, Any]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def models(self) -> list[str]:
        return list(dict.fromkeys([*(r["model"] for r in self.rows), *self.samples]))

    @property
    def sampled_models(self) -> list[str]:
        """Models with samples, in leaderboard order (samples are written as they finish)."""
        return [m for m in self.models if m in self.samples]

    @property
    def foundations(self) -> list[str]:
        return list(dict.fromkeys(r["foundation"] for r in self.rows))

    def row(self, model: str, foundation: str) -> dict[str, Any] | None:
        return next((r for r in self.rows
                     if r["model"] == model and r["foundation"] == foundation), None)

    def chart(self, metric: str, foundation: str) -> str:
        """Bars per model of one metric (percent, 95% interval) for one foundation."""
        bars = []
        for model in self.models:
            row = self.row(model, foundation) or {}
            bars.append(charts.Bar(model, row.get(metric), row.get(f"{metric}_low"),
                                   row.get(f"{metric}_high"), f"({row.get('n_prompts', 0)} "
                                   "prompts)"))
        return charts.bar_chart(bars, maximum=100.0, unit="%",
                                name=f"{metric}|{foundation}")

    def prompt_rows(self) -> list[tuple[str, dict[str, Any], dict[str, float | None],
                                        float | None]]:
        """(prompt id, prompt, model -> mean p(violation), the highest of those means) in the
        order the prompts appeared."""
        rows = []
        for pid, prompt in self.prompts.items():
            means = {m: _mean([_float(r.get("score")) for r in self.samples[m].get(pid, [])])
                     for m in self.sampled_models}
            present = [v for v in means.values() if v is not None]
            rows.append((pid, prompt, means, max(present) if present else None))
        return rows

    def items(self, model: str) -> list[ItemView]:
        """One item per prompt for ``model``: key = prompt id, score = mean p(violation)."""
        out = []
        for prompt_id, rows in self.samples.get(model, {}).items():
            prompt = self.prompts[prompt_id]
            scores = [_float(r.get("score")) for r in rows]
            out.append(ItemView(
                key=prompt_id, title=str(prompt.get("principle", "")),
                group=str(prompt.get("foundation", "")), score=_mean(scores), status="",
                text=str(prompt.get("prompt", "")),
                facts={"samples": str(len(rows)),
                       "unscored": str(sum(s is None for s in scores))},
                outputs=[Output(str(r.get("completion", "")), s, str(r.get("judge", "")))
                         for r, s in zip(rows, scores, strict=True)]))
        return out

    def item(self, prompt_id: str) -> ItemView:
        """A prompt with every model's completions, one round per model.

        Raises:
            KeyError: no such prompt.
        """
        prompt = self.prompts[prompt_id]
        rounds = []
        for model in self.sampled_models:
            rows = self.samples[model].get(prompt_id, [])
            scores = [_float(r.get("score")) for r in rows]
            rounds.append(Round(model, "", [
                Output(str(r.get("completion", "")), s, str(r.get("judge", "")))
                for r, s in zip(rows, scores, strict=True)],
                {"mean p(violation)": fmt(_mean(scores))}))
        return ItemView(key=prompt_id, title=str(prompt.get("principle", "")),
                        group=str(prompt.get("foundation", "")), score=None, status="",
                        text=str(prompt.get("prompt", "")), rounds=rounds)


def read_moral_bench(root: Path) -> MoralBench:
    bench = MoralBench()
    csv_path = root / "moral_scores.csv"
    if csv_path.is_file():
        try:
            with open(csv_path, newline="", encoding="utf-8") as fh:
                for row in csv.DictReader(fh):
                    if not row.get("model") or not row.get("foundation"):
                        continue
                    for metric in METRICS:
                        for suffix in ("", "_low", "_high"):
                            row[metric + suffix] = _float(row.get(metric + suffix))
                    bench.rows.append(row)
        except (OSError, csv.Error) as exc:
            bench.notes.append(f"{csv_path}: unreadable ({exc})")
    else:
        bench.notes.append("no moral_scores.csv yet (the benchmark is running or stopped "
                           "early): the samples so far are shown")
    samples = read_records(root / "samples.jsonl")
    if samples.error:
        bench.notes.append(samples.error)
    for row in samples.rows:
        prompt_id = str(row.get("prompt_id", ""))
        bench.prompts.setdefault(prompt_id, {k: row.get(k) for k in
                                             ("prompt", "principle", "foundation")})
        bench.samples.setdefault(str(row.get("model", "")), {}).setdefault(
            prompt_id, []).append(row)
    for by_prompt in bench.samples.values():
        for rows in by_prompt.values():
            rows.sort(key=lambda r: int(r.get("sample") or 0))
    return bench


@dataclass
class ValuesBench:
    """Value profiles of models on a release, and their answers per question."""

    summary: dict[str, Any] = field(default_factory=dict)
    answers: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    """question id -> every model's answer record."""
    questions: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def models(self) -> list[str]:
        return list(self.summary.get("trueskill") or {})

    @property
    def codes(self) -> list[str]:
        first: dict[str, Any] = next(iter((self.summary.get("trueskill") or {}).values()), {})
        return list(first)

    def item(self, qid: str) -> ItemView:
        """A question with each model's stance and value-labelled points.

        Raises:
            KeyError: no answers to that question.
        """
        records = self.answers[qid]
        rounds = []
        for record in records:
            if record.get("error"):
                rounds.append(Round(str(record.get("model")), "backend error",
                                    facts={"error": str(record["error"])}))
                continue
            rounds.append(Round(
                str(record.get("model")), f"stance: {record.get('stance') or 'unparsed'}",
                [Output(str(p.get("text", "")), None, ", ".join(p.get("values") or []))
                 for p in record.get("points") or []],
                {"values": ", ".join(record.get("values") or []) or "none",
                 "parsed": fmt(record.get("parsed"))}))
        return ItemView(key=qid, title=self.questions.get(qid, qid), group="", score=None,
                        status="", text=self.questions.get(qid, ""), rounds=rounds)

    def radar(self) -> str:
        return charts.radar_chart(self.summary.get("trueskill") or {}, self.codes)

    def question_rows(self) -> list[tuple[str, str, dict[str, str]]]:
        """(qid, question, model -> its values) for the question list."""
        rows = []
        for qid, records in self.answers.items():
            values = {str(r.get("model")): ("error" if r.get("error") else
                                            ", ".join(r.get("values") or []) or "–")
                      for r in records}
            rows.append((qid, self.questions.get(qid, ""), values))
        return rows


def read_values_bench(root: Path) -> ValuesBench:
    bench = ValuesBench()
    try:
        bench.summary = json.loads((root / "summary.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        bench.notes.append(f"summary.json: unreadable ({exc}); written at the end of a run")
    answers = read_records(root / "answers.jsonl")
    if answers.error:
        bench.notes.append(answers.error)
    grouped: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for record in answers.rows:
        grouped[str(record.get("qid", ""))].append(record)
    bench.answers = dict(grouped)
    questions = root.parent / "questions.jsonl"  # profiles written inside a release
    if questions.is_file():
        try:
            for _, row in iter_jsonl(questions, "release questions"):
                if isinstance(row, dict) and row.get("qid"):
                    bench.questions[str(row["qid"])] = str(row.get("question", ""))
        except FileError as exc:
            bench.notes.append(str(exc))
    return bench
