"""Versioned releases of a run: ``<run>/releases/v1``, ``v2``, ... (AdAEM questions, MoHoBench
images and questions). A release is built in a staging directory and renamed to the next free
``vN``, so readers never see half of one and two writers never take the same number."""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from valuegraph.tools.files import write_atomic

RELEASES_DIR = "releases"
MANIFEST_FILE = "manifest.json"
VERSION = re.compile(r"^v(\d+)$")


def release_dirs(run_root: str | Path) -> list[Path]:
    """The run's release directories, oldest first."""
    root = Path(run_root) / RELEASES_DIR
    if not root.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in root.iterdir()
             if p.is_dir() and (m := VERSION.match(p.name))]
    return [p for _, p in sorted(found)]


def normalise_text(text: str) -> str:
    """Lower case, punctuation as spaces, single spaces: the form two questions are equal in."""
    return " ".join(re.sub(r"[^\w\s]", " ", text.lower()).split())


def publish(releases: Path, write_files: Callable[[Path], None],
            manifest: dict[str, Any]) -> Path:
    """``write_files(staging)`` writes the release's files; the manifest gets the next free
    ``vN`` as ``version`` and the staging directory is renamed to it (the path returned)."""
    releases.mkdir(parents=True, exist_ok=True)
    staging = releases / f".staging-{os.getpid()}-{time.monotonic_ns()}"
    staging.mkdir()
    try:
        write_files(staging)
        while True:
            numbers = [int(m.group(1)) for p in releases.iterdir()
                       if (m := VERSION.match(p.name))]
            manifest["version"] = f"v{max(numbers, default=0) + 1}"
            write_atomic(staging / MANIFEST_FILE, json.dumps(manifest, indent=1,
                                                             ensure_ascii=False))
            try:
                os.rename(staging, releases / manifest["version"])
            except OSError:
                continue  # another writer took this number: take the next one
            return releases / manifest["version"]
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
