"""The viewer's fixtures: a runs directory (built once, copied per test), the app served on a
free loopback port, and Debian's Chromium driven by Playwright (never `playwright install`)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.view.builders import build_runs

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
POLL_SECONDS = 0.2


@pytest.fixture(scope="session")
def built_runs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_runs(tmp_path_factory.mktemp("view-runs"))


@pytest.fixture
def runs(built_runs: Path, tmp_path: Path) -> Path:
    """A copy of the runs directory this test may change."""
    return Path(shutil.copytree(built_runs, tmp_path / "runs"))


@pytest.fixture
def served(runs: Path):
    """(url, runs directory): the viewer on 127.0.0.1 and a free port."""
    from valuegraph.view.app import create_app
    from valuegraph.view.server import BackgroundServer

    with BackgroundServer(create_app(runs, poll_seconds=POLL_SECONDS)) as server:
        yield server.url.rstrip("/"), runs


@pytest.fixture(scope="module")
def browser():
    """Chromium for one module: Playwright's sync API holds an event loop on the main thread
    while it is open, so later tests' ``asyncio.run`` must not see it."""
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (scripts/system-deps.sh)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where screenshots go: $VALUEGRAPH_ARTIFACTS/view when set (CI keeps them), else tmp."""
    base = os.environ.get("VALUEGRAPH_ARTIFACTS")
    path = Path(base) / "view" if base else tmp_path_factory.mktemp("view-screenshots")
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture
def page(browser):
    """A fresh page; script errors on it fail the test."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    yield tab
    context.close()
    assert errors == [], errors
