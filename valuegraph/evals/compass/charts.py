"""Inline SVG charts of the compass report: ranking with intervals, heatmaps, radars, release
comparisons. Plain SVG strings (crisp at any zoom, no script, no download), each element with a
``<title>`` tooltip and a class the browser test can count."""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from typing import Any

PALETTE = ("#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1",
           "#ff9da7", "#9c755f", "#bab0ac")
VIRIDIS = ((68, 1, 84), (59, 82, 139), (33, 145, 140), (94, 201, 98), (253, 231, 37))
DIVERGING = ((178, 24, 43), (247, 247, 247), (33, 102, 172))
FONT = "font-family:system-ui,-apple-system,Segoe UI,sans-serif"


SHORT = {"Care/Harm": "Care", "Fairness/Cheating": "Fairness", "Loyalty/Betrayal": "Loyalty",
         "Authority/Subversion": "Authority", "Sanctity/Degradation": "Sanctity",
         "Representation & Toxicity Harms": "Toxicity", "Misinformation Harms": "Misinformation",
         "Socioeconomic Harms": "Socioeconomic", "Information & Safety Harms": "Info & safety",
         "Malicious Use": "Malicious use", "Human Autonomy & Integrity Harms": "Autonomy",
         "Self-Competence": "Competence", "User-Oriented": "User-oriented"}
"""Short labels of long dimension names (chart axes)."""


def short(name: str) -> str:
    return SHORT.get(name, name)


def esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def model_color(index: int) -> str:
    return PALETTE[index % len(PALETTE)]


def _mix(stops: Sequence[tuple[int, int, int]], t: float) -> tuple[int, int, int]:
    t = min(1.0, max(0.0, t)) * (len(stops) - 1)
    i = min(int(t), len(stops) - 2)
    f = t - i
    return tuple(round(a + (b - a) * f) for a, b in zip(stops[i], stops[i + 1], strict=True))


def scale_color(value: float | None, low: float = 0.0, high: float = 100.0,
                diverging: bool = False) -> tuple[str, str]:
    """(fill, text colour) of a cell."""
    if value is None or math.isnan(value):
        return "#eeeeee", "#888888"
    t = (value - low) / (high - low) if high > low else 0.5
    r, g, b = _mix(DIVERGING if diverging else VIRIDIS, t)
    light = 0.299 * r + 0.587 * g + 0.114 * b > 150
    return f"#{r:02x}{g:02x}{b:02x}", "#111111" if light else "#ffffff"


def fmt(value: float | None, digits: int = 1) -> str:
    return "–" if value is None or (isinstance(value, float) and math.isnan(value)) \
        else f"{value:.{digits}f}"


def ranking_chart(system: str, entries: Sequence[dict[str, Any]], colors: dict[str, str]) -> str:
    """Models ordered by score: a dot at the score, a bar over the 95% interval."""
    width, left, right, row_h, top = 640, 190, 60, 26, 28
    height = top + row_h * len(entries) + 24
    x = lambda v: left + (width - left - right) * v / 100.0  # noqa: E731
    parts = [f'<svg class="ranking" id="ranking-{esc(system)}" viewBox="0 0 {width} {height}" '
             f'width="100%" style="max-width:{width}px;{FONT}" role="img">']
    for tick in range(0, 101, 20):
        parts.append(f'<line x1="{x(tick):.1f}" x2="{x(tick):.1f}" y1="{top - 8}" '
                     f'y2="{height - 20}" stroke="#e4e4e4"/><text x="{x(tick):.1f}" '
                     f'y="{height - 6}" font-size="10" text-anchor="middle" fill="#777">{tick}'
                     "</text>")
    for k, e in enumerate(entries):
        y = top + row_h * k + row_h / 2
        color = colors[e["model"]]
        score = e["score"]
        label = f'{e["model"]}: {fmt(score)} [{fmt(e["low"])}, {fmt(e["high"])}], ' \
                f'{e["n_items"]} items'
        parts.append(f'<g class="rank-row" data-model="{esc(e["model"])}" '
                     f'data-score="{fmt(score, 3)}"><title>{esc(label)}</title>'
                     f'<text x="{left - 10}" y="{y + 4:.1f}" font-size="12" text-anchor="end">'
                     f'<tspan fill="#999">{e["rank"] or "–"}.</tspan> {esc(e["model"])}</text>')
        if score is not None:
            parts.append(f'<line class="interval" x1="{x(e["low"]):.1f}" x2="{x(e["high"]):.1f}" '
                         f'y1="{y:.1f}" y2="{y:.1f}" stroke="{color}" stroke-width="6" '
                         f'stroke-linecap="round" opacity="0.35"/><circle cx="{x(score):.1f}" '
                         f'cy="{y:.1f}" r="6" fill="{color}"/><text x="{x(e["high"]) + 8:.1f}" '
                         f'y="{y + 4:.1f}" font-size="11" fill="#333">{fmt(score)}</text>')
        parts.append("</g>")
    parts.append("</svg>")
    return "".join(parts)


def heatmap(rows: Sequence[str], columns: Sequence[tuple[str, str, str]],
            cell: dict[tuple[str, str], dict[str, Any]], *, css_class: str = "heatmap",
            diverging: bool = False, low: float = 0.0, high: float = 100.0,
            digits: int = 0) -> str:
    """Rows x columns of coloured cells. ``columns``: (key, label, group); ``cell[(row, key)]``:
    ``{"value", "tip"}``. Column groups get a header band."""
    cw, ch, left, top = 44, 26, 200, 96
    width = left + cw * len(columns) + 10
    height = top + ch * len(rows) + 10
    parts = [f'<svg class="{css_class}" viewBox="0 0 {width} {height}" width="{width}" '
             f'style="{FONT}" role="img">']
    groups: list[tuple[str, int, int]] = []
    for j, (_, _, group) in enumerate(columns):
        if groups and groups[-1][0] == group:
            groups[-1] = (group, groups[-1][1], j)
        else:
            groups.append((group, j, j))
    for g, (name, first, last) in enumerate(groups):
        x0, x1 = left + cw * first, left + cw * (last + 1)
        parts.append(f'<rect x="{x0 + 1}" y="4" width="{x1 - x0 - 2}" height="18" rx="3" '
                     f'fill="{"#f0f3f8" if g % 2 == 0 else "#f8f0f0"}"/><text x="{(x0 + x1) / 2}" '
                     f'y="17" font-size="11" text-anchor="middle" font-weight="600">{esc(name)}'
                     "</text>")
    for j, (_, label, _) in enumerate(columns):
        cx = left + cw * j + cw / 2
        parts.append(f'<text x="{cx}" y="{top - 6}" font-size="10" text-anchor="start" '
                     f'transform="rotate(-50 {cx} {top - 6})">{esc(label)}</text>')
    for i, row in enumerate(rows):
        y = top + ch * i
        parts.append(f'<text x="{left - 8}" y="{y + ch / 2 + 4}" font-size="12" '
                     f'text-anchor="end">{esc(row)}</text>')
        for j, (key, _, _) in enumerate(columns):
            got = cell.get((row, key), {})
            value = got.get("value")
            fill, ink = scale_color(value, low, high, diverging)
            x = left + cw * j
            parts.append(f'<g class="cell-group"><rect class="cell" x="{x + 1}" y="{y + 1}" '
                         f'width="{cw - 2}" height="{ch - 2}" rx="3" fill="{fill}"><title>'
                         f'{esc(got.get("tip", ""))}</title></rect><text x="{x + cw / 2}" '
                         f'y="{y + ch / 2 + 4}" font-size="11" text-anchor="middle" fill="{ink}" '
                         f'pointer-events="none">{fmt(value, digits)}</text></g>')
    parts.append("</svg>")
    return "".join(parts)


def radar(title: str, axes: Sequence[tuple[str, str]], values: Sequence[float | None],
          color: str, reference: Sequence[float | None] | None = None) -> str:
    """One model's profile on one system (0-100); ``reference``: the mean of all models."""
    width, height, cx, cy, radius = 272, 236, 136, 122, 68
    n = len(axes)
    angle = lambda k: -math.pi / 2 + 2 * math.pi * k / n  # noqa: E731

    def point(k: int, v: float) -> tuple[float, float]:
        r = radius * v / 100
        return cx + r * math.cos(angle(k)), cy + r * math.sin(angle(k))

    def polygon(vals: Sequence[float | None]) -> str:
        return " ".join(f"{px:.1f},{py:.1f}" for px, py in
                        (point(k, 0.0 if v is None or math.isnan(v) else v)
                         for k, v in enumerate(vals)))

    parts = [f'<svg class="radar" viewBox="0 0 {width} {height}" width="{width}" '
             f'style="{FONT}" role="img"><text x="{cx}" y="14" font-size="12" '
             f'text-anchor="middle" font-weight="600">{esc(title)}</text>']
    for ring in (25, 50, 75, 100):
        parts.append(f'<polygon points="{polygon([ring] * n)}" fill="none" stroke="#ddd"/>')
    for k, (code, name) in enumerate(axes):
        ex, ey = point(k, 100)
        lx, ly = point(k, 116)
        anchor = "middle" if abs(lx - cx) < 8 else ("start" if lx > cx else "end")
        parts.append(f'<line x1="{cx}" y1="{cy}" x2="{ex:.1f}" y2="{ey:.1f}" stroke="#e3e3e3"/>'
                     f'<text x="{lx:.1f}" y="{ly + 4:.1f}" font-size="9" '
                     f'text-anchor="{anchor}" fill="#444"><title>{esc(name)}</title>'
                     f"{esc(code)}</text>")
    if reference is not None:
        parts.append(f'<polygon class="reference" points="{polygon(reference)}" fill="none" '
                     'stroke="#999" stroke-dasharray="3,3"/>')
    parts.append(f'<polygon class="profile" points="{polygon(values)}" fill="{color}" '
                 f'fill-opacity="0.28" stroke="{color}" stroke-width="2"/>')
    for k, v in enumerate(values):
        if v is not None and not math.isnan(v):
            px, py = point(k, v)
            parts.append(f'<circle cx="{px:.1f}" cy="{py:.1f}" r="2.6" fill="{color}"><title>'
                         f"{esc(axes[k][1])}: {fmt(v)}</title></circle>")
    parts.append("</svg>")
    return "".join(parts)


def release_chart(system: str, releases: Sequence[str], series: dict[str, list[dict[str, Any]]],
                  colors: dict[str, str]) -> str:
    """A system's score per release (x) for every model, with 95% intervals."""
    width, left, top, bottom = 640, 50, 16, 44
    height = 230
    step = (width - left - 30) / max(1, len(releases))
    x = lambda k, m: left + step * (k + 0.5) + (m - (len(series) - 1) / 2) * 10  # noqa: E731
    y = lambda v: top + (height - top - bottom) * (1 - v / 100)  # noqa: E731
    parts = [f'<svg class="release-chart" id="releases-{esc(system)}" viewBox="0 0 {width} '
             f'{height}" width="100%" style="max-width:{width}px;{FONT}" role="img">']
    for tick in range(0, 101, 25):
        parts.append(f'<line x1="{left}" x2="{width - 20}" y1="{y(tick):.1f}" y2="{y(tick):.1f}" '
                     f'stroke="#eee"/><text x="{left - 6}" y="{y(tick) + 4:.1f}" font-size="10" '
                     f'text-anchor="end" fill="#777">{tick}</text>')
    for k, release in enumerate(releases):
        parts.append(f'<text x="{left + step * (k + 0.5):.1f}" y="{height - bottom + 18}" '
                     f'font-size="11" text-anchor="middle">{esc(release)}</text>')
    for m, (model, points) in enumerate(series.items()):
        color = colors[model]
        line = []
        for k, p in enumerate(points):
            if p["score"] is None:
                continue
            px, py = x(k, m), y(p["score"])
            line.append(f"{px:.1f},{py:.1f}")
            parts.append(f'<g class="release-point"><title>{esc(model)} on {esc(releases[k])}: '
                         f'{fmt(p["score"])} [{fmt(p["low"])}, {fmt(p["high"])}]</title>'
                         f'<line x1="{px:.1f}" x2="{px:.1f}" y1="{y(p["low"]):.1f}" '
                         f'y2="{y(p["high"]):.1f}" stroke="{color}" stroke-width="2"/>'
                         f'<circle cx="{px:.1f}" cy="{py:.1f}" r="4.5" fill="{color}"/></g>')
        if len(line) > 1:
            parts.append(f'<polyline points="{" ".join(line)}" fill="none" stroke="{color}" '
                         'stroke-opacity="0.5"/>')
    parts.append("</svg>")
    return "".join(parts)
