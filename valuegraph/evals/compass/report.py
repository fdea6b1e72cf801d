"""The compass report: one offline HTML page built from ``leaderboard.json``'s content.

Charts come first (who ranks where with what uncertainty, the whole board as a heatmap, each
model's profile as radars, culture and person alignment, releases side by side); the full
tables follow, sortable by any column with a click (a few lines of plain JavaScript, inline).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from valuegraph.evals.compass.charts import (
    esc,
    fmt,
    heatmap,
    model_color,
    radar,
    ranking_chart,
    release_chart,
    short,
)

STYLE = """
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:0;background:#f6f7f9;
color:#1d2330}
header{background:#1f2a44;color:#fff;padding:22px 32px}
header h1{margin:0 0 6px;font-size:24px}header p{margin:0;opacity:.85}
nav{padding:10px 32px;background:#fff;border-bottom:1px solid #e3e6ea;position:sticky;top:0;
z-index:2}nav a{margin-right:16px;color:#2b5ea7;text-decoration:none;font-weight:600}
main{padding:8px 32px 40px;max-width:1400px}
section{background:#fff;border:1px solid #e3e6ea;border-radius:10px;padding:16px 20px;
margin:18px 0}
h2{margin:0 0 4px;font-size:19px}h3{margin:14px 0 6px;font-size:15px}
.note{color:#5b6475;font-size:13px;margin:2px 0 10px}
.cards{display:flex;flex-wrap:wrap;gap:12px}
.card{border:1px solid #e3e6ea;border-radius:8px;padding:10px 14px;background:#fbfcfd}
.card b{display:block;font-size:20px}
.grid{display:flex;flex-wrap:wrap;gap:16px}
.rank-card{flex:1 1 520px;max-width:680px}
.model-card{border:1px solid #e3e6ea;border-radius:10px;padding:8px 10px;background:#fff}
.model-card h3{margin:4px 0;display:flex;align-items:center;gap:8px}
.swatch{width:12px;height:12px;border-radius:3px;display:inline-block}
.scroll{overflow-x:auto}
table{border-collapse:collapse;font-size:13px;margin:6px 0 14px}
th,td{border-bottom:1px solid #eceef1;padding:5px 9px;text-align:right;white-space:nowrap}
th:first-child,td:first-child,td.text,th.text{text-align:left}
th{cursor:pointer;background:#f3f5f8;position:sticky;top:0;user-select:none}
th.asc::after{content:' \\25B2';font-size:9px}th.desc::after{content:' \\25BC';font-size:9px}
td small{color:#8a93a3}
"""

SORT_SCRIPT = """
document.querySelectorAll('table.sortable').forEach(function (table) {
  var heads = table.tHead.rows[0].cells;
  Array.prototype.forEach.call(heads, function (th, col) {
    th.addEventListener('click', function () {
      var numeric = th.dataset.type === 'number';
      var dir = th.classList.contains('desc') ? 'asc' :
                th.classList.contains('asc') ? 'desc' : (numeric ? 'desc' : 'asc');
      Array.prototype.forEach.call(heads, function (h) { h.classList.remove('asc', 'desc'); });
      th.classList.add(dir);
      var body = table.tBodies[0];
      var rows = Array.prototype.slice.call(body.rows);
      rows.sort(function (a, b) {
        var x = a.cells[col].dataset.value, y = b.cells[col].dataset.value;
        if (numeric) {
          x = x === '' ? NaN : parseFloat(x); y = y === '' ? NaN : parseFloat(y);
          if (isNaN(x) || isNaN(y)) { return isNaN(x) - isNaN(y); }
          return dir === 'asc' ? x - y : y - x;
        }
        return dir === 'asc' ? x.localeCompare(y) : y.localeCompare(x);
      });
      rows.forEach(function (r) { body.appendChild(r); });
    });
  });
});
"""


def _rows(document: Mapping[str, Any], release: str = "all") -> dict[tuple[str, str, str], dict]:
    return {(r["model"], r["system"], r["dimension"]): r for r in document["rows"]
            if r["release"] == release}


def _ranking(document: Mapping[str, Any], colors: dict[str, str]) -> str:
    cells = _rows(document)
    parts = ['<section id="ranking"><h2>Ranking</h2><p class="note">Each system\'s score is the '
             "mean of its dimensions (0-100); the bar is the 95% bootstrap interval over items. "
             "Higher means more of the system's values expressed, safer, or more conforming."
             '</p><div class="grid">']
    for system in document["systems"]:
        entries = [cells[(m, system["key"], "mean")] for m in document["models"]
                   if (m, system["key"], "mean") in cells]
        entries.sort(key=lambda e: (e["score"] is None, -(e["score"] or 0)))
        parts.append(f'<div class="rank-card"><h3>{esc(system["name"])}</h3><p class="note">'
                     f'{esc(system["score"])}'
                     f"</p>{ranking_chart(system['key'], entries, colors)}</div>")
    parts.append("</div></section>")
    return "".join(parts)


def _heatmap(document: Mapping[str, Any]) -> str:
    cells = _rows(document)
    columns = [(f'{s["key"]}:{d["code"]}', short(d["name"]), s["platform_key"])
               for s in document["systems"] for d in s["dimensions"]
               if any((m, s["key"], d["code"]) in cells for m in document["models"])]
    values = {}
    for model in document["models"]:
        for key, _, _ in columns:
            system, code = key.split(":", 1)
            row = cells.get((model, system, code))
            if row is not None:
                values[(model, key)] = {"value": row["score"], "tip": (
                    f'{model} · {row["name"]}: {fmt(row["score"])} [{fmt(row["low"])}, '
                    f'{fmt(row["high"])}], {row["n_items"]} items, rank {row["rank"] or "–"}')}
    return ('<section id="heatmap"><h2>Heatmap: models × dimensions</h2><p class="note">Every '
            "score of the board (0-100; hover a cell for its interval and rank).</p>"
            f'<div class="scroll">{heatmap(document["models"], columns, values)}</div></section>')


def _profiles(document: Mapping[str, Any], colors: dict[str, str]) -> str:
    cells = _rows(document)
    parts = ['<section id="profiles"><h2>Profiles</h2><p class="note">One radar per model and '
             "system (0-100); the dashed outline is the mean of all models on the board.</p>"
             '<div class="grid">']
    for model in document["models"]:
        parts.append(f'<div class="model-card" data-model="{esc(model)}"><h3><span class="swatch" '
                     f'style="background:{colors[model]}"></span>{esc(model)}</h3>'
                     '<div class="grid">')
        for system in document["systems"]:
            dims = [d for d in system["dimensions"] if (model, system["key"], d["code"]) in cells]
            if len(dims) < 3:
                continue
            values = [cells[(model, system["key"], d["code"])]["score"] for d in dims]
            reference = []
            for d in dims:
                scores = [cells[(m, system["key"], d["code"])]["score"]
                          for m in document["models"]]
                kept = [v for v in scores if v is not None]
                reference.append(sum(kept) / len(kept) if kept else None)
            axes = [(d["code"] if system["key"] == "schwartz" else short(d["name"]), d["name"])
                    for d in dims]
            parts.append(radar(system["platform_key"], axes, values, colors[model], reference))
        parts.append("</div></div>")
    parts.append("</div></section>")
    return "".join(parts)


def _alignment(document: Mapping[str, Any]) -> str:
    rows = document["alignment"]
    if not rows:
        return ('<section id="alignment"><h2>Pluralistic alignment</h2><p class="note">No '
                "target could be compared: alignment needs every value of the target's system "
                "on the board (Schwartz for cultures).</p></section>")
    targets = list(dict.fromkeys((a["target"], a["name"], a["kind"]) for a in rows))
    columns = [(t, t if kind == "culture" else name[:14], "cultures" if kind == "culture"
                else "persons") for t, name, kind in targets]
    cells = {(a["model"], a["target"]): {"value": a["rho"], "tip": (
        f'{a["model"]} vs {a["name"]}: rho {fmt(a["rho"], 3)} [{fmt(a["rho_low"], 2)}, '
        f'{fmt(a["rho_high"], 2)}], match {fmt(a["match"], 3)}, weighted '
        f'{fmt(a["weighted"], 3)} [{fmt(a["weighted_low"], 3)}, {fmt(a["weighted_high"], 3)}]')}
        for a in rows}
    chart = heatmap(document["models"], columns, cells, css_class="heatmap alignment-map",
                    diverging=True, low=-1.0, high=1.0, digits=2)
    table = _table("alignment-table", ["model", "target", "kind", "system", "Spearman ρ",
                                       "match", "weighted"],
                   [[(a["model"], a["model"]), (a["name"], a["name"]), (a["kind"], a["kind"]),
                     (a["system"], a["system"]),
                     (a["rho"], _ci(a["rho"], a["rho_low"], a["rho_high"], 3)),
                     (a["match"], fmt(a["match"], 3)),
                     (a["weighted"], _ci(a["weighted"], a["weighted_low"], a["weighted_high"],
                                         3))] for a in rows],
                   numeric={4, 5, 6})
    sources = "".join(f"<li><b>{esc(t['name'])}</b>: {esc(t['source'] or 'user profile')}</li>"
                      for t in document["targets"])
    return ('<section id="alignment"><h2>Pluralistic alignment</h2><p class="note">Spearman ρ '
            "between a model's scores and a target's value priorities (the platform's culture "
            "heatmap; match = (ρ+1)/2), and the weighted alignment Σ w·s with w the target's "
            "priorities centred on their mean and scaled to Σ|w| = 1 (range -0.5 to 0.5).</p>"
            f'<div class="scroll">{chart}</div>{table}<details><summary>Where the target '
            f"profiles come from</summary><ul>{sources}</ul></details></section>")


def _releases(document: Mapping[str, Any], colors: dict[str, str]) -> str:
    parts = ['<section id="releases"><h2>Releases</h2><p class="note">Generative evolving '
             "evaluation: each release brings new items; older releases stay on the board for "
             "comparison (system score per release, 95% intervals).</p>"]
    for system in document["systems"]:
        releases = [r["release"] for r in system["releases"]]
        sizes = ", ".join(f'{r["release"]} ({r["items"]} items)' for r in system["releases"])
        if len(releases) < 2:
            parts.append(f'<p class="note"><b>{esc(system["name"])}</b>: one release, {esc(sizes)}'
                         "</p>")
            continue
        series = {}
        for model in document["models"]:
            series[model] = []
            for release in releases:
                row = _rows(document, release).get((model, system["key"], "mean"), {})
                series[model].append({"score": row.get("score"), "low": row.get("low"),
                                      "high": row.get("high")})
        parts.append(f'<h3>{esc(system["name"])}</h3><p class="note">{esc(sizes)}</p>'
                     f"{release_chart(system['key'], releases, series, colors)}")
    parts.append("</section>")
    return "".join(parts)


def _ci(value: float | None, low: float | None, high: float | None, digits: int = 1) -> str:
    if value is None:
        return "–"
    return f"{fmt(value, digits)} <small>[{fmt(low, digits)}, {fmt(high, digits)}]</small>"


def _table(table_id: str, header: list[str], rows: list[list[tuple[Any, str]]],
           numeric: set[int]) -> str:
    """A sortable table; each cell is (sort value, shown html)."""
    head = "".join(f'<th data-type="{"number" if j in numeric else "text"}"'
                   f'{"" if j in numeric else " class=text"}>{esc(h)}</th>'
                   for j, h in enumerate(header))
    body = []
    for row in rows:
        tds = "".join(f'<td data-value="{esc("" if v is None else v)}"'
                      f'{"" if j in numeric else " class=text"}>{shown}</td>'
                      for j, (v, shown) in enumerate(row))
        body.append(f"<tr>{tds}</tr>")
    return (f'<div class="scroll"><table class="sortable" id="{esc(table_id)}"><thead><tr>'
            f'{head}</tr></thead><tbody>{"".join(body)}</tbody></table></div>')


def _tables(document: Mapping[str, Any], colors: dict[str, str]) -> str:
    cells = _rows(document)
    parts = ['<section id="tables"><h2>Leaderboard</h2><p class="note">Click a column to sort. '
             "Scores 0-100 with 95% intervals; n = items behind the system score.</p>"]
    for system in document["systems"]:
        dims = [d for d in system["dimensions"]
                if any((m, system["key"], d["code"]) in cells for m in document["models"])]
        header = ["model", "mean", *(d["name"] for d in dims), "n"]
        rows = []
        for model in document["models"]:
            mean = cells.get((model, system["key"], "mean"))
            if mean is None:
                continue
            row = [(model, f'<span class="swatch" style="background:{colors[model]}"></span> '
                           f"{esc(model)}"),
                   (mean["score"], _ci(mean["score"], mean["low"], mean["high"]))]
            for d in dims:
                cell = cells.get((model, system["key"], d["code"]), {})
                row.append((cell.get("score"), _ci(cell.get("score"), cell.get("low"),
                                                   cell.get("high"))))
            row.append((mean["n_items"], str(mean["n_items"])))
            rows.append(row)
        parts.append(f'<h3>{esc(system["name"])}</h3>')
        parts.append(_table(f'table-{system["key"]}', header, rows,
                            set(range(1, len(header)))))
    parts.append("</section>")
    return "".join(parts)


def _summary(document: Mapping[str, Any]) -> str:
    counts = document["counts"]
    systems = "".join(f'<div class="card"><b>{s["items"]}</b>{esc(s["platform_key"])} items, '
                      f'{len(s["releases"])} release(s)</div>' for s in document["systems"])
    settings = document["settings"]
    mft_judge = settings["violation_judge"] or settings["judge"]
    return (f'<section id="summary"><div class="cards"><div class="card"><b>'
            f'{len(document["models"])}</b>models</div>{systems}<div class="card"><b>'
            f'{counts.get("measured", 0)}</b>pairs measured this run ({counts.get("reused", 0)} '
            f'reused)</div><div class="card"><b>{counts.get("requests", 0)}</b>requests sent '
            f'({counts.get("cache_hits", 0)} cache hits)</div></div><p class="note">Judge '
            f'{esc(settings["judge"])}; MFT judge {esc(mft_judge)}; tau {settings["threshold"]}; '
            f'seed {settings["seed"]}; state '
            f'{esc(counts.get("state", ""))}.</p></section>')


def write_report(document: Mapping[str, Any]) -> str:
    """The HTML text of the report."""
    colors = {m: model_color(i) for i, m in enumerate(document["models"])}
    sections = [_summary(document), _ranking(document, colors), _heatmap(document),
                _profiles(document, colors), _alignment(document),
                _releases(document, colors), _tables(document, colors)]
    nav = "".join(f'<a href="#{k}">{v}</a>' for k, v in (
        ("ranking", "Ranking"), ("heatmap", "Heatmap"), ("profiles", "Profiles"),
        ("alignment", "Alignment"), ("releases", "Releases"), ("tables", "Tables")))
    systems = ", ".join(s["platform_key"] for s in document["systems"])
    title = "Value Compass leaderboard"
    stamp = time.strftime("%Y-%m-%d %H:%M")
    return (f"<!doctype html><html lang='en'><head><meta charset='utf-8'><meta name='viewport' "
            f"content='width=device-width,initial-scale=1'><title>{title}</title><style>{STYLE}"
            f"</style></head><body><header><h1>{title}</h1><p>{len(document['models'])} models "
            f"× {esc(systems)} · generated {stamp}</p></header><nav>{nav}</nav><main>"
            f"{''.join(sections)}</main><script>{SORT_SCRIPT}</script></body></html>")
