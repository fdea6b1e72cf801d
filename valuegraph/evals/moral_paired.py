"""Paired comparisons on a moral benchmark: the same prompts under two conditions.

Two uses: a model with and without an in-context intervention (``bench moral --intervention``),
and a model before and after training (``valuegraph align``). Each prompt gives one value per
metric and condition (:func:`valuegraph.values.moral_metrics.prompt_value`: EVR_i = any
violation, MVP_i = the highest p, APV_i = the share violating, all in %), and
:func:`valuegraph.values.moral_metrics.paired_moral_scores` compares them prompt by prompt:
mean difference after - before in percentage points (negative: fewer violations), paired
bootstrap 95% interval, exact sign test, Wilcoxon signed-rank test. Rows come per foundation
and for all prompts; outputs are a terminal table, ``moral_paired.csv`` and a report section.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from valuegraph.graphs._shared.moral_prompts import MoralPrompt
from valuegraph.graphs._shared.records import ScoredCompletion
from valuegraph.values.moral_metrics import METRICS, TAU, PromptScores, paired_moral_scores
from valuegraph.values.paired import PairedComparison
from valuegraph.values.theories import MORAL_FOUNDATIONS

ALL = "all"
PAIRED_CSV = "moral_paired.csv"
EXPLAINED = (
    "Paired comparison, prompt by prompt (the same prompts under both conditions). Per prompt: "
    "EVR = 100 if any of its K completions violates, else 0; MVP = 100 x its highest violation "
    "probability; APV = % of its completions that violate. diff = mean over prompts of "
    "after - before, in percentage points (negative: fewer violations), with a paired "
    "bootstrap 95% interval (prompts resampled with their pairs); fell / rose / same count "
    "prompts whose value fell, rose, did not move; sign p: exact two-sided sign test; Wilcoxon p: "
    "two-sided signed-rank test on the non-zero differences. A prompt with no scored completion "
    "on either side is dropped (counted).")


@dataclass(frozen=True)
class PairedRow:
    """One metric of one group of prompts, compared across two conditions."""

    before: str
    after: str
    foundation: str
    metric: str
    comparison: PairedComparison

    @property
    def pair(self) -> str:
        return f"{self.before} -> {self.after}"


def paired_rows(prompt_set: Sequence[MoralPrompt], before: Mapping[str, PromptScores],
                after: Mapping[str, PromptScores], *, before_label: str, after_label: str,
                threshold: float = TAU, n_resamples: int = 1000,
                seed: int = 0) -> list[PairedRow]:
    """Rows for all prompts, then each foundation present (the theory's order), EVR / MVP /
    APV each. ``before`` / ``after`` map prompt ids to their K scores; a prompt missing on a
    side counts as unscored there."""
    codes = [d.code for d in MORAL_FOUNDATIONS.dimensions
             if any(p.foundation == d.code for p in prompt_set)]
    rows = []
    for group in (ALL, *codes):
        members = [p for p in prompt_set if group == ALL or p.foundation == group]
        compared = paired_moral_scores([before.get(p.id, []) for p in members],
                                       [after.get(p.id, []) for p in members], threshold,
                                       n_resamples=n_resamples, seed=seed)
        rows.extend(PairedRow(before_label, after_label, group, metric, compared[metric])
                    for metric in METRICS)
    return rows


def scores_by_model(samples: Sequence[ScoredCompletion]) -> dict[str, dict[str, PromptScores]]:
    """model -> prompt id -> scores in sample order, from typed scored completions (a
    ``samples.jsonl``)."""
    grouped: dict[str, dict[str, list[tuple[int, float | None]]]] = {}
    for row in samples:
        grouped.setdefault(row.model, {}).setdefault(row.prompt_id, []).append(
            (row.sample, row.score))
    return {model: {pid: [s for _, s in sorted(pairs, key=lambda p: p[0])]
                    for pid, pairs in by_prompt.items()}
            for model, by_prompt in grouped.items()}


def _num(value: float | None, digits: int = 4) -> str:
    return "" if value is None or math.isnan(value) else f"{value:.{digits}f}"


def write_paired_csv(rows: Sequence[PairedRow], path: Path) -> Path:
    """One line per (pair, foundation, metric)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fields = ("n", "dropped", "mean_before", "mean_after", "diff", "diff_low", "diff_high",
              "improved", "worsened", "ties", "sign_p", "wilcoxon_stat", "wilcoxon_p")
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["before", "after", "foundation", "metric", *fields])
        for row in rows:
            values = row.comparison.to_json()
            writer.writerow([row.before, row.after, row.foundation, row.metric, *(
                _num(values[f]) if isinstance(values[f], float) or values[f] is None
                else values[f] for f in fields)])
    return path


def _p(value: float | None) -> str:
    if value is None or math.isnan(value):
        return "n/a"
    return f"{value:.3f}" if value >= 0.001 else f"{value:.1e}"


def _diff(c: PairedComparison) -> str:
    if math.isnan(c.diff):
        return "n/a"
    return f"{c.diff:+.1f} [{c.diff_low:+.1f},{c.diff_high:+.1f}]"


def _cells(row: PairedRow) -> list[str]:
    c = row.comparison
    return [row.foundation, row.metric.upper(), str(c.n), _num(c.mean_before, 1),
            _num(c.mean_after, 1), _diff(c), f"{c.improved}/{c.worsened}/{c.ties}",
            _p(c.sign_p), _p(c.wilcoxon_p)]


HEADER = ("foundation", "metric", "prompts", "before %", "after %", "diff pp [95% CI]",
          "fell/rose/same", "sign p", "Wilcoxon p")


def _compact(row: PairedRow) -> list[str]:
    """A terminal row: ``fairness APV``, ``-37.5 [-50,-25]``, ``4/0/0``, the p-values (the
    means of each side are in the per-condition tables, CSV and report)."""
    c = row.comparison
    diff = "n/a" if math.isnan(c.diff) else f"{c.diff:+.1f} [{c.diff_low:+.0f},{c.diff_high:+.0f}]"
    return [f"{row.foundation} {row.metric.upper()}", str(c.n), diff,
            f"{c.improved}/{c.worsened}/{c.ties}", _p(c.sign_p), _p(c.wilcoxon_p)]


def paired_terminal_table(rows: Sequence[PairedRow]) -> Any:
    """One rich table per pair of conditions (fits 80 columns)."""
    from rich import box
    from rich.console import Group
    from rich.table import Table

    tables = []
    for pair in dict.fromkeys(r.pair for r in rows):
        table = Table(box=box.SIMPLE_HEAD, collapse_padding=True, pad_edge=False,
                      title_justify="left", title=f"[bold]{pair}[/bold]: paired per prompt, %")
        for name in ("metric", "prompts", "diff pp [95% CI]", "fell/rose/same", "sign p",
                     "Wilcoxon p"):
            table.add_column(name, no_wrap=True)
        for row in (r for r in rows if r.pair == pair):
            table.add_row(*_compact(row))
        tables.append(table)
    return Group(*tables, "diff = mean over prompts of after - before (negative: fewer "
                          "violations); fell/rose/same: prompts")


def add_paired_section(report: Any, rows: Sequence[PairedRow]) -> None:
    """The paired comparison in an :class:`~valuegraph.evals.report.HtmlReport`: the
    explanation, the table and a plot of the differences with their intervals per pair."""
    import numpy as np

    from valuegraph.evals.report import new_figure

    report.heading("Paired comparison")
    report.paragraph(EXPLAINED)
    for pair in dict.fromkeys(r.pair for r in rows):
        mine = [r for r in rows if r.pair == pair]
        report.paragraph(f"{pair} (before -> after)")
        report.table(HEADER, [_cells(r) for r in mine])
        groups = list(dict.fromkeys(r.foundation for r in mine))
        fig, ax = new_figure(6.5, 0.5 + 0.35 * len(mine))
        y = np.arange(len(mine))[::-1]
        for metric, marker in zip(METRICS, ("o", "s", "^"), strict=True):
            picks = [(i, r.comparison) for i, r in enumerate(mine) if r.metric == metric]
            diffs = np.array([0.0 if math.isnan(c.diff) else c.diff for _, c in picks])
            low = np.array([0.0 if math.isnan(c.diff_low) else c.diff - c.diff_low
                            for _, c in picks])
            high = np.array([0.0 if math.isnan(c.diff_high) else c.diff_high - c.diff
                             for _, c in picks])
            ax.errorbar(diffs, y[[i for i, _ in picks]], xerr=np.vstack([low, high]),
                        fmt=marker, capsize=3, label=metric.upper())
        ax.axvline(0.0, color="grey", linewidth=0.8)
        ax.set_yticks(y, [f"{r.foundation} {r.metric.upper()}" for r in mine], fontsize="small")
        ax.set_xlabel("after - before, percentage points (negative: fewer violations)")
        ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0))
        report.figure(fig, f"{pair}: paired differences with 95% intervals "
                           f"({', '.join(groups)})")
