"""The HTML report of ``bench honesty``: the table, refusal per type, the scores, the BPI."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from valuegraph.evals.report import HtmlReport, new_figure
from valuegraph.values.theories import HONESTY_TYPES


def _value(v: float) -> float:
    return 0.0 if math.isnan(v) else v


def refusal_by_type_figure(result: Any) -> Any:
    """Grouped bars: refusal % per question type (and overall), one bar per model."""
    names = ["all", *(d.name for d in HONESTY_TYPES.dimensions)]
    fig, ax = new_figure(7.5, 3.4)
    models = list(result.scores)
    width = 0.8 / max(1, len(models))
    x = np.arange(len(names))
    for j, model in enumerate(models):
        s = result.scores[model]
        values = [_value(s.refusal_rate), *(_value(v) for v in s.refusal_by_type.values())]
        ax.bar(x + (j - (len(models) - 1) / 2) * width, [100 * v for v in values], width,
               label=model)
    ax.set_xticks(x, names, fontsize=8)
    ax.set_ylim(0, 105)
    ax.set_ylabel("refusal % (higher is more honest)")
    ax.legend(fontsize="small")
    return fig


def scores_figure(result: Any) -> Any:
    """Rationality (over refusals) and helpfulness (over all answers) per model, 1-10."""
    fig, ax = new_figure(6.0, 3.2)
    models = list(result.scores)
    x = np.arange(len(models))
    ax.bar(x - 0.2, [_value(result.scores[m].rationality) for m in models], 0.4,
           label="rationality (refusals)")
    ax.bar(x + 0.2, [_value(result.scores[m].helpfulness) for m in models], 0.4,
           label="helpfulness (all)")
    ax.set_xticks(x, models, fontsize=8, rotation=15)
    ax.set_ylim(0, 10.5)
    ax.legend(fontsize="small")
    return fig


def bpi_figure(result: Any) -> Any:
    fig, ax = new_figure(6.0, 2.8)
    models = list(result.bpi)
    ax.bar(models, [_value(result.bpi[m]) for m in models])
    ax.set_ylim(0, 1.05)
    ax.set_ylabel(f"BPI ({result.settings.standardise})")
    ax.tick_params(axis="x", labelsize=8, rotation=15)
    return fig


def write_honesty_report(result: Any, path: Path) -> Path:
    from valuegraph.evals.honesty_bench import PAPER_MEANS

    report = HtmlReport(f"MoHoBench honesty on {result.benchmark}")
    judges = result.judges
    report.paragraph(
        f"Judges: refusal {judges['refusal']} (text only), rationality {judges['rationality']} "
        f"and helpfulness {judges['helpfulness']} (with the image). The paper's judges are "
        "o3-mini and GPT-4o; other judges move the numbers. Refusal rate: share of answers "
        "the judge tags as refusals (higher is more honest on these unanswerable questions). "
        "Rationality: mean 1-10 over refusals only (a model with one refusal can score 10; "
        "see the counts). Helpfulness: mean 1-10 over all answers. BPI = m(1 - s/s_max) of "
        f"the three metrics standardised ({result.settings.standardise}); m their minimum, s "
        "their standard deviation. Unscored judgements are left out of every mean and "
        "counted.")
    report.paragraph(
        f"For scale, the paper's means over 28 models: refusal "
        f"{100 * PAPER_MEANS['refusal_rate']:.1f}%, rationality {PAPER_MEANS['rationality']}, "
        f"helpfulness {PAPER_MEANS['helpfulness']}, BPI {PAPER_MEANS['bpi']}.")
    header = ["model", "refusal %", *(f"{d.name} %" for d in HONESTY_TYPES.dimensions),
              "rationality", "helpfulness", "BPI", "answers", "refusals", "failed",
              "unscored (refusal / rationality / helpfulness)"]
    rows = []
    for model, s in result.scores.items():
        failed = sum(a.error is not None for a in result.answers[model])
        rows.append([model, *(("n/a" if math.isnan(v) else f"{100 * v:.1f}")
                              for v in (s.refusal_rate, *s.refusal_by_type.values())),
                     "n/a" if math.isnan(s.rationality) else f"{s.rationality:.2f}",
                     "n/a" if math.isnan(s.helpfulness) else f"{s.helpfulness:.2f}",
                     "n/a" if math.isnan(result.bpi[model]) else f"{result.bpi[model]:.3f}",
                     s.n_answers, s.n_refusals, failed,
                     f"{s.n_refusal_unscored} / {s.n_rationality_unscored} / "
                     f"{s.n_helpfulness_unscored}"])
    report.table(header, rows)
    report.heading("Refusal rate by question type")
    report.figure(refusal_by_type_figure(result), "refusal % per type and model")
    report.heading("Rationality and helpfulness")
    report.figure(scores_figure(result), "mean judge scores, 1-10")
    report.heading("Balanced performance index")
    report.figure(bpi_figure(result), "BPI per model")
    return report.write(path)
