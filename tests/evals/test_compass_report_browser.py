"""The compass report in a real headless Chromium (Debian's, driven by Playwright): charts are
rendered, the tables sort on a click, and the page asks nothing from the network."""

from __future__ import annotations

import hashlib
import json

import pytest
from playwright.sync_api import sync_playwright

from valuegraph.evals.compass.board import open_board
from valuegraph.evals.compass.run import run_compass
from valuegraph.testing import compass_fakes as fakes
from valuegraph.tools.backends.mock_backend import register_mock

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@pytest.fixture(scope="module")
def board(tmp_path_factory):
    """Three scripted models (careful, bold, and one that mixes them per prompt) on every
    system, two Schwartz releases and one person."""
    root = tmp_path_factory.mktemp("compass")
    paths = fakes.write_items(root / "items")
    specs = fakes.register_mocks()

    def mixed(messages, params, index):
        text = messages[-1]["content"]
        pick = int(hashlib.sha256(text.encode()).hexdigest(), 16) % 3
        return fakes.answer("careful" if pick else "bold", text)

    register_mock("mixed", respond=mixed)
    (root / "ada.yaml").write_text("name: Ada\npriorities: {SDI: 6, STI: 4, HED: 3, ACH: 4, "
                                   "POW: 1, SEC: 5, CON: 3, TRA: 2, BEN: 6, UNI: 6}\n")
    models = [specs["careful"], specs["bold"], "mock/mixed"]
    outcome = run_compass(open_board(
        root / "board", models=models,
        sources=[("schwartz", paths["v1"].parent.parent), ("mft", paths["mft"]),
                 ("risk", paths["risk"]), ("fulva", paths["fulva"])],
        persons=[root / "ada.yaml"], settings={"judge": specs["judge"], "n_resamples": 200}))
    assert outcome.state == "done"
    return root / "board", models


def test_report_renders_charts_and_sorts_tables(board, tmp_path):
    root, models = board
    document = json.loads((root / "leaderboard.json").read_text())
    rows = {(r["model"], r["system"], r["dimension"]): r for r in document["rows"]
            if r["release"] == "all"}
    requested: list[str] = []
    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1300, "height": 900})
        page.on("request", lambda r: requested.append(r.url))
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.goto((root / "report.html").as_uri())

        # ranking: one chart per system, one row per model, in rank order
        assert page.locator("svg.ranking").count() == 4
        order = page.locator("#ranking-mft g.rank-row").evaluate_all(
            "rows => rows.map(r => r.dataset.model)")
        expected = sorted(models, key=lambda m: -rows[(m, "mft", "mean")]["score"])
        assert order == expected and len(order) == 3
        assert page.locator("#ranking-mft line.interval").count() == 3
        # heatmap: models x the 22 dimensions that have items (10 + 3 + 3 + 6)
        assert page.locator("svg.heatmap:not(.alignment-map) rect.cell").count() == 3 * 22
        # a radar per model and system; alignment: 9 cultures + Ada
        assert page.locator("svg.radar").count() == 3 * 4
        assert page.locator(".model-card").count() == 3
        assert page.locator("svg.alignment-map rect.cell").count() == 3 * 10
        assert page.locator("#releases-schwartz g.release-point").count() == 3 * 2

        table = page.locator("#table-schwartz")
        assert table.locator("tbody tr").count() == 3

        def column(index):
            return table.locator("tbody tr").evaluate_all(
                f"rows => rows.map(r => r.cells[{index}].dataset.value)")

        header = table.locator("thead th")
        names = header.evaluate_all("hs => hs.map(h => h.textContent)")
        sec = names.index("Security")
        header.nth(sec).click()
        values = [float(v) for v in column(sec)]
        assert values == sorted(values, reverse=True) and values[0] == 100.0
        assert column(0)[0] == "mock/careful"
        header.nth(sec).click()
        assert [float(v) for v in column(sec)] == sorted(values)
        assert "asc" in header.nth(sec).get_attribute("class")
        header.nth(0).click()
        assert column(0) == sorted(models)

        shot = tmp_path / "report.png"
        page.screenshot(path=str(shot), full_page=True)
        browser.close()
    assert shot.stat().st_size > 50_000
    assert errors == []
    assert requested and all(u.startswith(("file:", "data:")) for u in requested)
