"""Data files shipped with valuegraph (seed principles and the like)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path


def data_path(name: str) -> Path:
    """Path of a data file shipped in this package, e.g. ``data_path("principles.jsonl")``."""
    path = Path(str(resources.files(__name__) / name))
    if not path.is_file():
        raise FileNotFoundError(f"no data file {name!r} in {path.parent}")
    return path
