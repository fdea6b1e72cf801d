"""The viewer's web app (Starlette): pages over a runs directory, read-only, live.

Pages are rendered on the server (Jinja2, autoescaped: model outputs are shown as text, never
as markup) with inline CSS, script and SVG, so the page works offline. A page's live parts are
fragments the page's script polls (``/part/...?since=<version>``): the server answers 204 when
the files behind the fragment have not changed (one ``stat`` each), else the new fragment.

Routes: ``/`` runs and benchmark outputs, ``/run/<id>`` a run (per-item records or a growth
run), ``/bench?path=`` a benchmark output, ``/bench/item?path=&id=`` one of its items,
``/compare?a=&b=`` two runs side by side.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jinja2
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from valuegraph.tools.rundir import RunDir
from valuegraph.view import charts
from valuegraph.view.bench import METRICS
from valuegraph.view.compare import compare, load_side, side_choices
from valuegraph.view.growth import S_PARTS, growth_view
from valuegraph.view.items import ItemSection, item_sections
from valuegraph.view.sources import NotFound, RunInfo, Sources

LOOPBACK_HOSTS = ["127.0.0.1", "localhost"]
GROWTH_GRAPHS = ("adaem",)
"""Graphs whose runs are shown as a growth run (the rest: their per-item records)."""


def _num(value: Any, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}g}" if abs(value) < 10 ** digits else f"{value:.0f}"
    return str(value)


def _when(stamp: Any) -> str:
    try:
        return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(float(stamp)))
    except (TypeError, ValueError):
        return "–"


def make_templates() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.PackageLoader("valuegraph.view", "templates"),
                             autoescape=True, undefined=jinja2.StrictUndefined,
                             trim_blocks=True, lstrip_blocks=True)
    env.filters.update(num=_num, when=_when, pct=lambda v: _num(v, 3))
    env.globals.update(charts=charts, metrics=METRICS, s_parts=S_PARTS,
                       markup=jinja2.utils.markupsafe.Markup)
    return env


class Viewer:
    """The app's handlers over one :class:`Sources`."""

    def __init__(self, sources: Sources, poll_seconds: float):
        self.sources = sources
        self.poll_ms = int(poll_seconds * 1000)
        self.templates = make_templates()

    def page(self, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
        html = self.templates.get_template(name).render(
            root=str(self.sources.root), poll_ms=self.poll_ms, **context)
        return HTMLResponse(html, status_code=status_code)

    def part(self, request: Request, version: str,
             make: Callable[[], tuple[str, dict[str, Any]]]) -> Response:
        """A live fragment: 204 when ``version`` is the one the page has (nothing read but a
        stat per file), else ``make()``'s template rendered with its context."""
        if request.query_params.get("since") == version:
            return Response(status_code=204)
        name, context = make()
        html = self.templates.get_template(name).render(root=str(self.sources.root), **context)
        return HTMLResponse(html, headers={"X-Version": version, "Cache-Control": "no-store"})

    # -- runs ------------------------------------------------------------------------------

    def runs_context(self) -> dict[str, Any]:
        runs = self.sources.runs()
        return {"runs": runs, "benches": self.sources.benches(),
                "running": sum(r.live for r in runs), "now": time.time()}

    def index(self, request: Request) -> Response:
        return self.page("runs.html", version=self.sources.runs_version(),
                         choices=side_choices(self.sources), **self.runs_context())

    def runs_part(self, request: Request) -> Response:
        return self.part(request, self.sources.runs_version(),
                         lambda: ("parts/runs.html", self.runs_context()))

    # -- one run ---------------------------------------------------------------------------

    def sections(self, run: RunDir) -> list[ItemSection]:
        """The run's items, computed again only when its results file changed."""
        return self.sources.cached(run.results_path, "sections",
                                   lambda _: item_sections(self.sources.records(run).rows))

    def run_context(self, run_id: str) -> tuple[str, str, dict[str, Any]]:
        """(version, fragment template, its context) of a run page."""
        run = self.sources.run_dir(run_id)
        version = self.sources.run_version(run)
        return version, *self.run_part_context(run, run_id)

    def run_part_context(self, run: RunDir, run_id: str) -> tuple[str, dict[str, Any]]:
        status = self.sources.status(run)
        info: RunInfo = self.sources.info(run_id, status)
        records = self.sources.records(run)
        context: dict[str, Any] = {"run": info, "status": status, "error": records.error,
                                   "records": len(records.rows)}
        if info.graph in GROWTH_GRAPHS or any(r.get("kind") == "step" for r in records.rows):
            context["growth"] = growth_view(run.root, records.rows, status)
            return "parts/growth.html", context
        context["sections"] = self.sections(run)
        return "parts/items.html", context

    def run_page(self, request: Request) -> Response:
        run_id = request.path_params["run_id"]
        version, part, context = self.run_context(run_id)
        return self.page("run.html", version=version, part=part, run_id=run_id, **context)

    def run_part(self, request: Request) -> Response:
        run_id = request.path_params["run_id"]
        run = self.sources.run_dir(run_id)
        return self.part(request, self.sources.run_version(run),
                         lambda: self.run_part_context(run, run_id))

    def item_detail(self, request: Request) -> Response:
        """One item's facts, rounds and samples (loaded when the reader opens it)."""
        run = self.sources.run_dir(request.path_params["run_id"])
        kind, key = request.query_params.get("kind", ""), request.query_params.get("key", "")
        for section in self.sections(run):
            if section.kind.kind == kind:
                for item in section.items:
                    if item.key == key:
                        html = self.templates.get_template("parts/item_detail.html").render(
                            item=item)
                        return HTMLResponse(html, headers={"Cache-Control": "no-store"})
        raise NotFound(f"no {kind} item {key!r} in run {run.run_id}")

    # -- benchmark outputs -----------------------------------------------------------------

    def bench_page(self, request: Request) -> Response:
        bench = self.sources.bench(request.query_params.get("path", ""))
        if bench.kind == "moral":
            return self.page("bench_moral.html", bench=bench, moral=self.sources.moral(bench))
        return self.page("bench_values.html", bench=bench, values=self.sources.values(bench))

    def bench_item(self, request: Request) -> Response:
        bench = self.sources.bench(request.query_params.get("path", ""))
        item_id = request.query_params.get("id", "")
        reader = self.sources.moral if bench.kind == "moral" else self.sources.values
        try:
            item = reader(bench).item(item_id)
        except KeyError:
            raise NotFound(f"no item {item_id!r} in {bench.path}") from None
        return self.page("bench_item.html", bench=bench, item=item)

    # -- compare ---------------------------------------------------------------------------

    def compare_page(self, request: Request) -> Response:
        a, b = request.query_params.get("a", ""), request.query_params.get("b", "")
        choices = side_choices(self.sources)
        result = compare(load_side(self.sources, a), load_side(self.sources, b)) \
            if a and b else None
        return self.page("compare.html", choices=choices, a=a, b=b, result=result)


def create_app(runs_dir: str | Path, *, poll_seconds: float = 2.0,
               allowed_hosts: list[str] | None = None) -> Starlette:
    """The viewer over ``runs_dir``.

    Args:
        runs_dir: The runs directory (read, never written).
        poll_seconds: How often a page asks for changes.
        allowed_hosts: ``Host`` headers accepted (default: loopback names only, which keeps a
            web page elsewhere from reading the viewer through DNS rebinding).

    Raises:
        ConfigError: ``runs_dir`` does not exist or is not a directory.
    """
    viewer = Viewer(Sources(runs_dir), poll_seconds)

    def guarded(handler: Callable[[Request], Response]) -> Callable[[Request], Response]:
        def endpoint(request: Request) -> Response:
            try:
                return handler(request)
            except NotFound as exc:
                return viewer.page("error.html", status_code=404, message=str(exc))

        return endpoint

    routes = [
        Route("/", guarded(viewer.index)),
        Route("/part/runs", guarded(viewer.runs_part)),
        Route("/run/{run_id}", guarded(viewer.run_page)),
        Route("/part/run/{run_id}", guarded(viewer.run_part)),
        Route("/part/item/{run_id}", guarded(viewer.item_detail)),
        Route("/bench", guarded(viewer.bench_page)),
        Route("/bench/item", guarded(viewer.bench_item)),
        Route("/compare", guarded(viewer.compare_page)),
    ]
    def not_found(request: Request, exc: Exception) -> Response:
        return viewer.page("error.html", status_code=404,
                           message=f"no page {request.url.path}")

    hosts = allowed_hosts if allowed_hosts is not None else LOOPBACK_HOSTS
    return Starlette(routes=routes, exception_handlers={404: not_found}, middleware=[
        Middleware(TrustedHostMiddleware, allowed_hosts=hosts)])
