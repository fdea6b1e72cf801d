"""Self-contained HTML reports: tables and matplotlib figures embedded as PNG data URIs."""

from __future__ import annotations

import base64
import html
import io
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any


def figure_to_data_uri(fig: Any) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def new_figure(width: float = 6.0, height: float = 3.5) -> tuple[Any, Any]:
    """A matplotlib figure on the non-interactive Agg backend."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(width, height))
    return fig, ax


def close_figure(fig: Any) -> None:
    import matplotlib.pyplot as plt

    plt.close(fig)


def html_table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(_fmt(c))}</td>" for c in row) + "</tr>" for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _fmt(value: Any) -> str:
    return f"{value:.2f}" if isinstance(value, float) else str(value)


class HtmlReport:
    """Collects sections and writes one standalone HTML file."""

    def __init__(self, title: str):
        self.title = title
        self.sections: list[str] = []

    def heading(self, text: str) -> None:
        self.sections.append(f"<h2>{html.escape(text)}</h2>")

    def paragraph(self, text: str) -> None:
        self.sections.append(f"<p>{html.escape(text)}</p>")

    def table(self, header: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        self.sections.append(html_table(header, rows))

    def figure(self, fig: Any, caption: str = "") -> None:
        uri = figure_to_data_uri(fig)
        close_figure(fig)
        self.sections.append(f'<figure><img src="{uri}" alt="{html.escape(caption)}">'
                             f"<figcaption>{html.escape(caption)}</figcaption></figure>")

    def write(self, path: Path) -> Path:
        style = ("body{font-family:sans-serif;max-width:960px;margin:2em auto}"
                 "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px}"
                 "figure{margin:1em 0}")
        doc = (f"<!doctype html><html><head><meta charset='utf-8'><title>"
               f"{html.escape(self.title)}</title><style>{style}</style></head><body>"
               f"<h1>{html.escape(self.title)}</h1><p>generated "
               f"{time.strftime('%Y-%m-%d %H:%M:%S')}</p>{''.join(self.sections)}</body></html>")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(doc, encoding="utf-8")
        return path
