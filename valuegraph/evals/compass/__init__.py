"""Value Compass (spec §2): many models on Schwartz values, moral foundations, safety and
LLM-specific values; pluralistic alignment; an incremental leaderboard. See docs/compass.md.

    board = open_board("boards/main", models=[...], sources=[("schwartz", release_dir)])
    outcome = run_compass(board)
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {"open_board": "valuegraph.evals.compass.board",
            "run_compass": "valuegraph.evals.compass.run",
            "CompassSettings": "valuegraph.evals.compass.measure"}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
