"""valuegraph: measure, probe and align the values and honesty of LLMs.

What a Python user needs, importable from the top (each loads on first use, so
``import valuegraph`` stays fast)::

    import asyncio, valuegraph

    pool = valuegraph.ModelPool()                                   # every backend, one API
    outcome = valuegraph.run_graph("denevil", params={"limit": 2})  # a run directory
    records = valuegraph.load_records(outcome.root, kind="moral_prompt")
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "ModelPool": "valuegraph.tools.pool",
    "RunConfig": "valuegraph.config",
    "ConfigError": "valuegraph.config",
    "Verdict": "valuegraph.agents.judge",
    "run_graph": "valuegraph.api",
    "resume_run": "valuegraph.api",
    "load_records": "valuegraph.api",
    "RunOutcome": "valuegraph.graphs._shared.runner",
    "graph_names": "valuegraph.graphs",
}
__all__ = ["ConfigError", "ModelPool", "RunConfig", "RunOutcome", "Verdict", "__version__",
           "graph_names", "load_records", "resume_run", "run_graph"]

if TYPE_CHECKING:
    from valuegraph.agents.judge import Verdict
    from valuegraph.api import load_records, resume_run, run_graph
    from valuegraph.config import ConfigError, RunConfig
    from valuegraph.graphs import graph_names
    from valuegraph.graphs._shared.runner import RunOutcome
    from valuegraph.tools.pool import ModelPool


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'valuegraph' has no attribute {name!r}")
