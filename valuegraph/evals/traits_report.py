"""Outputs of ``bench traits``: a CSV, an HTML report with a bar chart per measure, and the
terminal table."""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Any

from valuegraph.evals.report import HtmlReport, new_figure
from valuegraph.evals.traits_bench import MEASURES, TraitsResult

UNITS = {"heldout": "held-out questionnaire score (0-10)",
         "downstream": "downstream P(trait shown) (0-1)"}
CSV_FIELDS = ("row", "trait", "measure", "condition", "baseline", "mean", "n", "unscored",
              "diff", "diff_low", "diff_high", "improved", "worsened", "ties", "sign_p",
              "wilcoxon_p")


def _num(value: float | None) -> str:
    return "" if value is None or (isinstance(value, float) and math.isnan(value)) \
        else f"{value:.4f}"


def means(result: TraitsResult) -> list[tuple[str, str, str, float | None, int, int]]:
    """(trait, measure, condition, mean, scored, unscored) rows, traits in order."""
    rows = []
    for trait in result.traits:
        for measure in MEASURES:
            for condition in result.settings.conditions:
                scores = result.scores[(trait, measure, condition)]
                scored = [s for s in scores if s is not None]
                rows.append((trait, measure, condition,
                             sum(scored) / len(scored) if scored else None, len(scored),
                             len(scores) - len(scored)))
    return rows


def write_csv(result: TraitsResult, path: Path) -> Path:
    """One ``mean`` row per (trait, measure, condition), one ``paired`` row per comparison."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(CSV_FIELDS)
        for trait, measure, condition, mean, n, unscored in means(result):
            writer.writerow(["mean", trait, measure, condition, "", _num(mean), n, unscored,
                             *[""] * 8])
        for trait, measure, condition, baseline, c in result.comparisons:
            writer.writerow(["paired", trait, measure, condition, baseline, "", c.n, c.dropped,
                             _num(c.diff), _num(c.diff_low), _num(c.diff_high), c.improved,
                             c.worsened, c.ties, _num(c.sign_p), _num(c.wilcoxon_p)])
    return path


def _diff(c: Any) -> str:
    if c.n == 0:
        return "n/a"
    p = "n/a" if c.wilcoxon_p is None else f"{c.wilcoxon_p:.3g}"
    return f"{c.diff:+.2f} [{c.diff_low:+.2f}, {c.diff_high:+.2f}] p={p}"


def terminal_table(result: TraitsResult) -> Any:
    """A rich table per measure: the mean per condition, then the reflection's paired
    difference against each baseline."""
    from rich import box
    from rich.console import Group
    from rich.table import Table

    conditions = result.settings.conditions
    last = conditions[-1]
    looked_up = {(t, m, c, b): comp for t, m, c, b, comp in result.comparisons}
    lookup = {(t, m, c): mean for t, m, c, mean, _, _ in means(result)}
    tables = []
    for measure in MEASURES:
        table = Table(box=box.SIMPLE_HEAD, title_justify="left", title=(
            f"[bold]{UNITS[measure]}[/bold], {result.model}"))
        for name in ("trait", *conditions, *(f"{last} - {b} [95% CI] Wilcoxon p"
                                            for b in conditions[:-1])):
            table.add_column(name, no_wrap=True)
        for trait in [*result.traits, "all"]:
            cells = ["" if trait == "all" else _num(lookup[(trait, measure, c)])[:5]
                     for c in conditions]
            diffs = [_diff(looked_up[(trait, measure, last, b)]) for b in conditions[:-1]]
            table.add_row(trait, *cells, *diffs)
        tables.append(table)
    return Group(*tables, f"judge {result.judge}; paired over items; higher is better")


def write_report(result: TraitsResult, path: Path, *, title: str = "Trait elicitation") -> Path:
    """HTML: the settings, the means, the paired comparisons, a bar chart per measure."""
    import numpy as np

    report = HtmlReport(title)
    report.paragraph(
        f"Model {result.model}; judge {result.judge}. Held-out items (split: test) are scored "
        "0-10 (rating / points x 10, reversed items recoded); downstream responses by the "
        "judge's P(the response shows the trait). Conditions: raw (no prompt), persona (a "
        "plain persona prompt), irote (the elicited reflection). Paired comparisons over the "
        "same items: mean difference with a paired-bootstrap 95% interval, exact sign test, "
        "Wilcoxon signed-rank test. Unscored answers are left out and counted.")
    report.table(["trait", "measure", "condition", "mean", "scored", "unscored"],
                 [list(row) for row in means(result)])
    report.heading("Paired comparisons")
    report.table(["trait", "measure", "condition", "baseline", "n", "diff", "low", "high",
                  "improved", "worsened", "ties", "sign p", "Wilcoxon p"],
                 [[t, m, c, b, comp.n, comp.diff, comp.diff_low, comp.diff_high,
                   comp.improved, comp.worsened, comp.ties, comp.sign_p,
                   "" if comp.wilcoxon_p is None else comp.wilcoxon_p]
                  for t, m, c, b, comp in result.comparisons])
    lookup = {(t, m, c): mean for t, m, c, mean, _, _ in means(result)}
    conditions = result.settings.conditions
    for measure in MEASURES:
        report.heading(UNITS[measure])
        fig, ax = new_figure(max(5.0, 1.2 * len(result.traits) + 2), 3.2)
        width = 0.8 / len(conditions)
        x = np.arange(len(result.traits))
        for j, condition in enumerate(conditions):
            values = [lookup[(t, measure, condition)] for t in result.traits]
            ax.bar(x + (j - (len(conditions) - 1) / 2) * width,
                   [0.0 if v is None else v for v in values], width, label=condition)
        ax.set_xticks(x, result.traits, fontsize=8)
        ax.set_ylabel(UNITS[measure])
        ax.legend(fontsize="small")
        report.figure(fig, f"{measure}: mean per trait and condition")
    return report.write(path)
