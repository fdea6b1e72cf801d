"""Research loops, one package each, and the one list they are registered in.

:data:`GRAPHS` names every loop: its graph module (whose ``graph`` Studio and ``langgraph dev``
load) and its runner (what ``valuegraph run <name>`` runs). ``langgraph.json`` is generated from
it (``python -m valuegraph.graphs > langgraph.json``; a test checks the file matches).
Modules are imported only when their graph is chosen.
"""

from __future__ import annotations

import importlib
import json
from dataclasses import dataclass
from typing import Any

from valuegraph.config import ConfigError


@dataclass(frozen=True)
class GraphEntry:
    """A registered loop.

    Attributes:
        name: The name users type (``valuegraph run <name>``, the Studio graph id).
        module: The graph module; its ``graph`` is the compiled graph Studio serves.
        runner: ``module:attribute`` of the loop's runner instance.
    """

    name: str
    module: str
    runner: str

    @property
    def studio_path(self) -> str:
        return "./" + self.module.replace(".", "/") + ".py:graph"


GRAPHS: tuple[GraphEntry, ...] = (
    GraphEntry("denevil", "valuegraph.graphs.denevil.graph",
               "valuegraph.graphs.denevil.runner:RUNNER"),
    GraphEntry("adaem", "valuegraph.graphs.adaem.graph",
               "valuegraph.graphs.adaem.runner:RUNNER"),
    GraphEntry("mohobench", "valuegraph.graphs.mohobench.graph",
               "valuegraph.graphs.mohobench.runner:RUNNER"),
    GraphEntry("vilmo", "valuegraph.graphs.vilmo.graph",
               "valuegraph.graphs.vilmo.runner:RUNNER"),
    GraphEntry("irote", "valuegraph.graphs.irote.graph",
               "valuegraph.graphs.irote.runner:RUNNER"),
)


def graph_names() -> list[str]:
    return [entry.name for entry in GRAPHS]


def entry(name: str) -> GraphEntry:
    """The registered loop ``name``.

    Raises:
        ConfigError: not registered (the message lists those that are).
    """
    for found in GRAPHS:
        if found.name == name:
            return found
    available = ", ".join(sorted(graph_names()))
    raise ConfigError(f"unknown graph {name!r}; available graphs: {available}")


def load_runner(name: str) -> Any:
    """The runner of a registered loop (imported now)."""
    module_name, _, attribute = entry(name).runner.partition(":")
    return getattr(importlib.import_module(module_name), attribute)


def langgraph_config() -> dict[str, Any]:
    """The content of ``langgraph.json``: every registered graph, for ``langgraph dev``."""
    return {"$schema": "https://langgra.ph/schema.json", "dependencies": ["."],
            "graphs": {e.name: e.studio_path for e in GRAPHS}, "env": {}}


def langgraph_json() -> str:
    return json.dumps(langgraph_config(), indent=2) + "\n"
