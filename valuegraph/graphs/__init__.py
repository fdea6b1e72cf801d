"""Research loops, one package each, and the registry the CLI picks them from.

A graph registers a *runner*: a module exposing

    DESCRIPTION: str
    def validate(config: RunConfig) -> None          # raise ConfigError before anything is written
    async def run(config, run_dir, pool, progress) -> dict   # the run's summary

Runners are imported only when their graph is chosen.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from valuegraph.config import ConfigError

GRAPHS: dict[str, str] = {
    "denevil": "valuegraph.graphs.denevil.runner",
    "adaem": "valuegraph.graphs.adaem.runner",
}


def register_graph(name: str, runner_module: str) -> None:
    GRAPHS[name] = runner_module


def load_runner(name: str) -> ModuleType:
    """Import the runner of a registered graph.

    Raises:
        ConfigError: the graph is not registered (the message lists those that are).
    """
    if name not in GRAPHS:
        allowed = ", ".join(sorted(GRAPHS)) or "(none registered)"
        raise ConfigError(f"unknown graph {name!r}; available graphs: {allowed}")
    try:
        return importlib.import_module(GRAPHS[name])
    except ModuleNotFoundError as exc:
        if exc.name != GRAPHS[name]:
            raise
        raise ConfigError(
            f"graph {name!r} is registered but not installed in this version") from exc
