"""Small inline SVG charts: no script library, no network, every label escaped.

Each chart is a string of SVG markup; points and bars carry a ``<title>`` (the browser shows it
on hover) and a ``data-*`` attribute the page's script and the tests can read.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html import escape

PALETTE = ("#3366cc", "#dc7633", "#2e8b57", "#9b59b6", "#c0392b", "#17a2b8", "#7f8c8d",
           "#b7950b")


@dataclass(frozen=True)
class Bar:
    """One bar: ``value`` with an optional interval ``[low, high]``."""

    label: str
    value: float | None
    low: float | None = None
    high: float | None = None
    note: str = ""


def _num(value: float, digits: int = 3) -> str:
    return f"{value:.{digits}g}"


def _finite(value: float | None) -> bool:
    return value is not None and math.isfinite(value)


def bar_chart(bars: Sequence[Bar], *, maximum: float | None = None, unit: str = "",
              width: int = 560, name: str = "") -> str:
    """Horizontal bars (one per label) with whiskers for their intervals."""
    label_w, row_h, pad = 170, 24, 8
    values = [v for b in bars for v in (b.value, b.high) if v is not None and math.isfinite(v)]
    top = maximum if maximum is not None else max(values, default=1.0) or 1.0
    plot_w = width - label_w - 60

    def x_of(value: float) -> float:
        return label_w + max(0.0, min(1.0, value / top)) * plot_w

    height = pad * 2 + row_h * max(len(bars), 1)
    parts = [f'<svg class="chart bar-chart" data-chart-name="{escape(name)}" width="{width}" '
             f'height="{height}" viewBox="0 0 {width} {height}" role="img">']
    for i, bar in enumerate(bars):
        y = pad + i * row_h
        parts.append(f'<text x="{label_w - 6}" y="{y + 16}" text-anchor="end" '
                     f'class="axis">{escape(bar.label[:28])}</text>')
        value = bar.value
        if value is None or not math.isfinite(value):
            parts.append(f'<text x="{label_w + 4}" y="{y + 16}" class="muted">no score</text>')
            continue
        low, high = bar.low, bar.high
        interval = (low, high) if low is not None and high is not None and \
            math.isfinite(low) and math.isfinite(high) else None
        span = f" [{_num(interval[0])}, {_num(interval[1])}]" if interval else ""
        tip = f"{bar.label}: {_num(value)}{unit}{span}{' ' + bar.note if bar.note else ''}"
        end = x_of(value)
        parts.append(f'<g class="bar" data-label="{escape(bar.label)}" '
                     f'data-value="{value:.6g}"><title>{escape(tip)}</title>'
                     f'<rect x="{label_w}" y="{y + 4}" width="{end - label_w:.1f}" '
                     f'height="{row_h - 8}" fill="{PALETTE[i % len(PALETTE)]}"/>')
        if interval:
            x1, x2 = x_of(interval[0]), x_of(interval[1])
            mid = y + row_h / 2
            parts.append(f'<path d="M{x1:.1f} {mid} H{x2:.1f} M{x1:.1f} {mid - 5} V{mid + 5} '
                         f'M{x2:.1f} {mid - 5} V{mid + 5}" stroke="#222" fill="none"/>')
        parts.append(f'<text x="{end + 6:.1f}" y="{y + 16}" class="value">'
                     f'{escape(_num(value) + unit)}</text></g>')
    parts.append("</svg>")
    return "".join(parts)


def line_chart(series: Mapping[str, Sequence[tuple[float, float]]], *, x_label: str,
               y_label: str, width: int = 560, height: int = 220, name: str = "") -> str:
    """Lines with a dot per point (hover: the point's values)."""
    left, right, top, bottom = 48, 12, 12, 34
    xs = [x for pts in series.values() for x, _ in pts]
    ys = [y for pts in series.values() for _, y in pts if _finite(y)]
    parts = [f'<svg class="chart line-chart" data-chart-name="{escape(name)}" width="{width}" '
             f'height="{height}" viewBox="0 0 {width} {height}" role="img">']
    if not xs or not ys:
        parts.append(f'<text x="{width / 2}" y="{height / 2}" text-anchor="middle" '
                     'class="muted">no data yet</text></svg>')
        return "".join(parts)
    x0, x1 = min(xs), max(xs)
    y0, y1 = min(0.0, min(ys)), max(ys)
    x1 = x1 if x1 > x0 else x0 + 1
    y1 = y1 if y1 > y0 else y0 + 1
    plot_w, plot_h = width - left - right, height - top - bottom

    def sx(x: float) -> float:
        return left + (x - x0) / (x1 - x0) * plot_w

    def sy(y: float) -> float:
        return top + plot_h - (y - y0) / (y1 - y0) * plot_h

    parts.append(f'<path d="M{left} {top} V{top + plot_h} H{left + plot_w}" stroke="#999" '
                 'fill="none"/>')
    for tick in (y0, (y0 + y1) / 2, y1):
        parts.append(f'<text x="{left - 4}" y="{sy(tick) + 4:.1f}" text-anchor="end" '
                     f'class="axis">{escape(_num(tick))}</text>')
    for tick in (x0, x1):
        parts.append(f'<text x="{sx(tick):.1f}" y="{top + plot_h + 14}" text-anchor="middle" '
                     f'class="axis">{escape(_num(tick))}</text>')
    parts.append(f'<text x="{left + plot_w / 2}" y="{height - 4}" text-anchor="middle" '
                 f'class="axis">{escape(x_label)}</text>')
    parts.append(f'<text x="10" y="{top + plot_h / 2}" text-anchor="middle" class="axis" '
                 f'transform="rotate(-90 10 {top + plot_h / 2})">{escape(y_label)}</text>')
    for i, (label, points) in enumerate(series.items()):
        colour = PALETTE[i % len(PALETTE)]
        kept = [(x, y) for x, y in points if _finite(y)]
        path = " ".join(f"{'M' if j == 0 else 'L'}{sx(x):.1f} {sy(y):.1f}"
                        for j, (x, y) in enumerate(kept))
        parts.append(f'<g class="series" data-series="{escape(label)}" '
                     f'data-points="{len(kept)}"><path d="{path}" stroke="{colour}" '
                     'fill="none" stroke-width="2"/>')
        for x, y in kept:
            parts.append(f'<circle cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="3" fill="{colour}">'
                         f'<title>{escape(f"{label}: {x_label} {_num(x)}, {_num(y)}")}</title>'
                         '</circle>')
        parts.append("</g>")
    legend_x = left + 8
    for i, label in enumerate(series):
        parts.append(f'<text x="{legend_x}" y="{top + 12 + 14 * i}" class="legend" '
                     f'fill="{PALETTE[i % len(PALETTE)]}">{escape(label)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def radar_chart(profiles: Mapping[str, Mapping[str, float]], codes: Sequence[str], *,
                maximum: float = 100.0, size: int = 360) -> str:
    """One polygon per model over the value axes; each polygon is a ``.series`` group that
    the page's legend check-boxes show and hide."""
    centre, radius = size / 2, size / 2 - 46
    n = max(len(codes), 1)

    def point(i: int, value: float) -> tuple[float, float]:
        angle = -math.pi / 2 + 2 * math.pi * i / n
        r = radius * max(0.0, min(1.0, value / maximum))
        return centre + r * math.cos(angle), centre + r * math.sin(angle)

    parts = [f'<svg class="chart radar" width="{size}" height="{size}" '
             f'viewBox="0 0 {size} {size}" role="img">']
    for ring in (0.25, 0.5, 0.75, 1.0):
        ring_pts = " ".join(f"{x:.1f},{y:.1f}" for x, y in
                            (point(i, ring * maximum) for i in range(n)))
        parts.append(f'<polygon points="{ring_pts}" fill="none" stroke="#ddd"/>')
    for i, code in enumerate(codes):
        x, y = point(i, maximum * 1.12)
        parts.append(f'<text x="{x:.1f}" y="{y + 4:.1f}" text-anchor="middle" '
                     f'class="axis">{escape(code)}</text>')
    for j, (model, scores) in enumerate(profiles.items()):
        colour = PALETTE[j % len(PALETTE)]
        pts = " ".join(f"{x:.1f},{y:.1f}" for x, y in
                       (point(i, float(scores.get(c, 0.0))) for i, c in enumerate(codes)))
        tip = f"{model}: " + ", ".join(f"{c} {float(scores.get(c, 0.0)):.0f}" for c in codes)
        parts.append(f'<g class="series" data-series="{j}"><title>{escape(tip)}</title>'
                     f'<polygon points="{pts}" fill="{colour}" fill-opacity="0.18" '
                     f'stroke="{colour}" stroke-width="2"/></g>')
    parts.append("</svg>")
    return "".join(parts)


def heat_colour(value: float | None, maximum: float = 100.0) -> str:
    """Background of a heat-map cell: white (0) to blue (maximum)."""
    if value is None or not math.isfinite(value):
        return "#f4f4f4"
    share = max(0.0, min(1.0, value / maximum))
    red = int(255 - share * (255 - 51))
    green = int(255 - share * (255 - 102))
    return f"rgb({red},{green},{255 - int(share * 51)})"
