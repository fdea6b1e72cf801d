"""Value profile outputs: CSV, and an HTML report with a radar per model and a heatmap."""

from __future__ import annotations

import csv
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from valuegraph.evals.report import HtmlReport, new_figure

Profile = Mapping[str, Mapping[str, float]]


def write_profiles_csv(path: Path, trueskill: Profile, raw: Profile, codes: Sequence[str],
                       answered: Mapping[str, int], trueskill_sd: Profile | None = None) -> Path:
    """One row per (model, value): TrueSkill win-rate (mean over question orders), its SD over
    the orders, raw rate, questions answered."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["model", "value", "trueskill_win_rate", "trueskill_sd", "raw_rate",
                         "answered"])
        for model in trueskill:
            for code in codes:
                sd = "" if trueskill_sd is None else f"{trueskill_sd[model][code]:.4f}"
                writer.writerow([model, code, f"{trueskill[model][code]:.4f}", sd,
                                 f"{raw[model][code]:.4f}", answered.get(model, 0)])
    return path


def radar_figure(model: str, scores: Mapping[str, float], codes: Sequence[str]) -> Any:
    """One model's profile on a polar axis (0-100)."""
    fig, flat = new_figure(4.2, 4.2)
    fig.delaxes(flat)
    ax = fig.add_subplot(projection="polar")
    angles = [2 * math.pi * i / len(codes) for i in range(len(codes))]
    values = [scores[c] for c in codes]
    ax.plot([*angles, angles[0]], [*values, values[0]], linewidth=1.5)
    ax.fill([*angles, angles[0]], [*values, values[0]], alpha=0.25)
    ax.set_xticks(angles)
    ax.set_xticklabels(codes, fontsize=8)
    ax.set_ylim(0, 100)
    ax.set_title(model, fontsize=10)
    return fig


def heatmap_figure(profile: Profile, codes: Sequence[str], title: str) -> Any:
    """Models x values, annotated."""
    models = list(profile)
    fig, ax = new_figure(1.0 + 0.7 * len(codes), 1.2 + 0.45 * len(models))
    data = [[profile[m][c] for c in codes] for m in models]
    image = ax.imshow(data, vmin=0, vmax=100, cmap="viridis", aspect="auto")
    ax.set_xticks(range(len(codes)), codes, fontsize=8)
    ax.set_yticks(range(len(models)), models, fontsize=8)
    for i, row in enumerate(data):
        for j, value in enumerate(row):
            ax.text(j, i, f"{value:.0f}", ha="center", va="center", fontsize=7,
                    color="white" if value < 50 else "black")
    ax.set_title(title, fontsize=10)
    fig.colorbar(image, ax=ax, fraction=0.03)
    return fig


def write_values_report(path: Path, *, title: str, trueskill: Profile, raw: Profile,
                        codes: Sequence[str], summary: Mapping[str, Any]) -> Path:
    report = HtmlReport(title)
    report.paragraph(
        "TrueSkill win-rates (0-100) are relative to this pool of models and depend on the "
        "question order (shuffled with the seed below); raw rates are the share of answers "
        "that expressed each value. Values count whatever the stance.")
    report.table(["setting", "value"], [[k, v] for k, v in summary.items()])
    report.heading("TrueSkill win-rate")
    report.table(["model", *codes], [[m, *(trueskill[m][c] for c in codes)] for m in trueskill])
    report.figure(heatmap_figure(trueskill, codes, "TrueSkill win-rate"), "models x values")
    report.heading("Raw rate (% of answers expressing the value)")
    report.table(["model", *codes], [[m, *(raw[m][c] for c in codes)] for m in raw])
    report.figure(heatmap_figure(raw, codes, "raw rate"), "models x values (raw)")
    report.heading("Profiles")
    for model in trueskill:
        report.figure(radar_figure(model, trueskill[model], codes), f"{model}: win-rate")
    return report.write(path)
