"""The package's floors: each imports only floors below it, importlib strings included.

    config, data  <-  tools  <-  values  <-  agents  <-  graphs  <-  evals, training  <-
    view, pipelines  <-  cli, api

``testing`` (servers and fakes for tests and benchmarks) sits above ``values`` and is imported
by nothing in the package. A loop never imports a sibling loop. The walk reads every module's
source: ``import`` statements anywhere (inside functions too) and every string literal that
names a ``valuegraph.`` module (what ``importlib.import_module`` or a registry would load).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "valuegraph"
FLOORS = {"config": 0, "data": 0, "tools": 1, "values": 2, "testing": 2.5, "agents": 3,
          "graphs": 4, "evals": 5, "training": 5, "view": 5.5, "pipelines": 5.5, "cli": 6,
          "api": 6, "__main__": 7}
MODULE_NAME = re.compile(r"^valuegraph(\.[A-Za-z_][A-Za-z0-9_]*)+")


def module_of(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def floor_of(module: str) -> tuple[str, float] | None:
    parts = module.split(".")
    if len(parts) < 2:
        return None  # the package itself (its lazy public API)
    return parts[1], FLOORS[parts[1]]


def imported_names(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            match = MODULE_NAME.match(node.value.split(":")[0].strip())
            if match:
                names.add(match.group(0))
    return {n for n in names if n == "valuegraph" or n.startswith("valuegraph.")}


def sources() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if p.name != "__init__.py"
                  or p.parent != PACKAGE)


def upward_imports() -> list[str]:
    problems = []
    for path in sources():
        here = module_of(path)
        own = floor_of(here)
        assert own is not None
        for name in imported_names(path):
            other = floor_of(name)
            if other is None or other[0] == own[0]:
                continue
            if other[1] >= own[1]:
                problems.append(f"{here} ({own[0]}) imports {name} ({other[0]})")
    return problems


def test_every_subpackage_has_a_floor():
    found = {p.relative_to(PACKAGE).parts[0].removesuffix(".py") for p in PACKAGE.iterdir()
             if not p.name.startswith((".", "__pycache__")) and p.name != "__init__.py"}
    assert found <= set(FLOORS), f"give these a floor: {sorted(found - set(FLOORS))}"


def test_no_import_runs_back_up_a_floor():
    assert upward_imports() == []


def test_no_loop_imports_a_sibling_loop():
    loops = {p.name for p in (PACKAGE / "graphs").iterdir()
             if p.is_dir() and not p.name.startswith(("_", "."))}
    problems = []
    for loop in loops:
        for path in (PACKAGE / "graphs" / loop).rglob("*.py"):
            for name in imported_names(path):
                parts = name.split(".")
                if len(parts) > 2 and parts[1] == "graphs" and parts[2] in loops - {loop}:
                    problems.append(f"{module_of(path)} imports {name}")
    assert problems == []


def test_nothing_in_the_package_imports_the_cli_or_the_test_helpers():
    for path in sources():
        here = module_of(path)
        for name in imported_names(path):
            if name.startswith("valuegraph.cli"):
                assert here.startswith(("valuegraph.cli", "valuegraph.__main__")), here
            if name.startswith("valuegraph.testing"):
                assert here.startswith("valuegraph.testing"), here


@pytest.mark.parametrize("source,expected", [
    ("import valuegraph.graphs.denevil\n", "valuegraph.graphs.denevil"),
    ("def f():\n    from valuegraph.cli import app\n", "valuegraph.cli.app"),
    ("X = 'valuegraph.graphs.denevil.runner:RUNNER'\n", "valuegraph.graphs.denevil.runner"),
    ("importlib.import_module('valuegraph.evals.report')\n", "valuegraph.evals.report"),
])
def test_the_walk_sees_every_form_of_import(tmp_path, source, expected):
    path = tmp_path / "m.py"
    path.write_text(source)
    assert expected in imported_names(path)
