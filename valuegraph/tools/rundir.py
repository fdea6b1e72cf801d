"""A run directory holds everything one run produced, so it can be resumed, listed, exported."""

from __future__ import annotations

import json
import logging
import os
import secrets as _random
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from valuegraph.config import ConfigError, RunConfig
from valuegraph.tools.results import ResultLog
from valuegraph.tools.secrets import RedactingFilter, redact

CONFIG_FILE = "config.yaml"
STATUS_FILE = "status.json"


def new_run_id(graph: str) -> str:
    return f"{time.strftime('%Y%m%d-%H%M%S')}-{graph or 'run'}-{_random.token_hex(3)}"


def write_atomic(path: Path, text: str) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


@dataclass(frozen=True)
class RunDir:
    """Layout: config.yaml, status.json, checkpoints.sqlite, cache/, bank/, results.jsonl,
    exports/, run.log, report.html."""

    root: Path

    @classmethod
    def create(cls, config: RunConfig) -> RunDir:
        """Create the directory for a validated config (the only writer of config.yaml)."""
        run_id = config.run_id or new_run_id(config.graph)
        root = Path(config.runs_dir) / run_id
        if root.exists():
            raise ConfigError(f"run directory {root} already exists; choose another run_id "
                              "or `valuegraph resume` it")
        root.mkdir(parents=True)
        run = cls(root)
        resolved = config.model_copy(update={"run_id": run_id})
        data = redact(resolved.model_dump(mode="json"))
        write_atomic(root / CONFIG_FILE, yaml.safe_dump(data, sort_keys=False))
        run.set_status("created", graph=config.graph)
        return run

    @classmethod
    def open(cls, runs_dir: str | Path, run_id: str) -> RunDir:
        root = Path(run_id) if Path(run_id).is_dir() else Path(runs_dir) / run_id
        if not (root / CONFIG_FILE).is_file():
            raise ConfigError(f"no run {run_id!r} under {runs_dir} (expected {root / CONFIG_FILE});"
                              " `valuegraph runs` lists the runs")
        return cls(root)

    @property
    def run_id(self) -> str:
        return self.root.name

    def config(self) -> RunConfig:
        return RunConfig.model_validate(yaml.safe_load((self.root / CONFIG_FILE).read_text()))

    # -- status ----------------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        path = self.root / STATUS_FILE
        return json.loads(path.read_text()) if path.exists() else {}

    def set_status(self, state: str, **fields: Any) -> None:
        data = {**self.status(), **redact(fields), "state": state, "updated": time.time()}
        data.setdefault("created", data["updated"])
        write_atomic(self.root / STATUS_FILE, json.dumps(data, indent=1, default=str))

    # -- stores ----------------------------------------------------------------------------

    @property
    def cache_dir(self) -> Path:
        return self.root / "cache"

    @property
    def bank_dir(self) -> Path:
        return self.root / "bank"

    @property
    def exports_dir(self) -> Path:
        path = self.root / "exports"
        path.mkdir(exist_ok=True)
        return path

    @property
    def results(self) -> ResultLog:
        return ResultLog(self.root / "results.jsonl")

    def attach_log(self) -> logging.Handler:
        """Send valuegraph's log records to run.log, secrets masked."""
        handler = logging.FileHandler(self.root / "run.log", encoding="utf-8")
        handler.addFilter(RedactingFilter())
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        logging.getLogger("valuegraph").addHandler(handler)
        logging.getLogger("valuegraph").setLevel(logging.INFO)
        return handler


def list_runs(runs_dir: str | Path) -> list[tuple[str, dict[str, Any]]]:
    """(run_id, status) for every run under ``runs_dir``, oldest first."""
    root = Path(runs_dir)
    if not root.is_dir():
        return []
    runs = [RunDir(p) for p in root.iterdir() if (p / CONFIG_FILE).is_file()]
    runs.sort(key=lambda r: r.status().get("created", 0))
    return [(r.run_id, r.status()) for r in runs]
