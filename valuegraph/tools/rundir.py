"""A run directory holds everything one run produced, so it can be resumed, listed, exported.

Layout: ``config.yaml`` (resolved, secrets masked), ``status.json``, ``checkpoints.sqlite``,
``cache/`` (completions), ``bank/`` (item bank), ``results.jsonl``, ``exports/``, ``run.log``.
"""

from __future__ import annotations

import json
import logging
import re
import secrets as _random
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from valuegraph.config import ConfigError, RunConfig, validate_config
from valuegraph.tools.files import FileError, read_text, write_atomic
from valuegraph.tools.results import ResultLog
from valuegraph.tools.secrets import RedactingFilter, redact

CONFIG_FILE = "config.yaml"
STATUS_FILE = "status.json"
RESULTS_FILE = "results.jsonl"
RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")

__all__ = ["RunDir", "list_runs", "new_run_id", "write_atomic"]


def new_run_id(graph: str) -> str:
    return f"{time.strftime('%Y%m%d-%H%M%S')}-{graph or 'run'}-{_random.token_hex(3)}"


def check_run_id(run_id: str) -> str:
    """A run id is one path component: letters, digits, '.', '_', '-' (no '..', no '/').

    Raises:
        ConfigError: anything else (it could name a directory outside the runs directory).
    """
    if not RUN_ID.match(run_id) or ".." in run_id:
        raise ConfigError(f"run id {run_id!r} must be 1-128 letters, digits, '.', '_' or '-', "
                          "starting with a letter or digit (it names one directory)")
    return run_id


@dataclass(frozen=True)
class RunDir:
    """One run's directory; see the module docstring for its layout."""

    root: Path

    @classmethod
    def create(cls, config: RunConfig) -> RunDir:
        """Create the directory for a validated config (the only writer of config.yaml).

        Raises:
            ConfigError: a bad run id, an existing directory, or a runs directory that is a file.
        """
        run_id = check_run_id(config.run_id or new_run_id(config.graph))
        runs_dir = Path(config.runs_dir)
        if runs_dir.exists() and not runs_dir.is_dir():
            raise ConfigError(f"runs directory {runs_dir} is a file, not a directory")
        root = runs_dir / run_id
        if root.exists():
            raise ConfigError(f"run directory {root} already exists; choose another run_id "
                              "or `valuegraph resume` it")
        try:
            root.mkdir(parents=True)
        except OSError as exc:
            raise ConfigError(f"cannot create run directory {root}: {exc.strerror or exc}"
                              ) from None
        run = cls(root)
        resolved = config.model_copy(update={"run_id": run_id})
        data = redact(resolved.model_dump(mode="json"))
        write_atomic(root / CONFIG_FILE, yaml.safe_dump(data, sort_keys=False))
        run.set_status("created", graph=config.graph)
        return run

    @classmethod
    def open(cls, runs_dir: str | Path, run_ref: str) -> RunDir:
        """A run by id (under ``runs_dir``) or by directory path.

        Raises:
            ConfigError: no run there (the message says where it looked).
        """
        given = Path(run_ref)
        root = given if given.is_dir() and (given / CONFIG_FILE).exists() else \
            Path(runs_dir) / run_ref
        if not (root / CONFIG_FILE).is_file():
            raise ConfigError(f"no run {run_ref!r} under {runs_dir} (expected {root / CONFIG_FILE}"
                              "); `valuegraph runs` lists the runs")
        return cls(root)

    @property
    def run_id(self) -> str:
        return self.root.name

    def config(self) -> RunConfig:
        """The run's resolved config.

        Raises:
            ConfigError: the file is unreadable, malformed, or holds an invalid setting.
        """
        path = self.root / CONFIG_FILE
        try:
            data = yaml.safe_load(read_text(path, "run config"))
        except FileError as exc:
            raise ConfigError(str(exc)) from None
        except yaml.YAMLError as exc:
            first = " ".join(str(exc).split())[:200]
            raise ConfigError(f"{path}: malformed run config: {first}") from None
        if not isinstance(data, dict):
            raise ConfigError(f"{path}: a run config must be a mapping of settings")
        return validate_config(data, str(path))

    def set_budget(self, budget: int | None) -> None:
        """Raise or lift the budget of a stopped run (``config.yaml``'s ``budget``; the rest,
        secrets masked as written, stays as it is)."""
        data = yaml.safe_load(read_text(self.root / CONFIG_FILE, "run config"))
        data["budget"] = budget
        write_atomic(self.root / CONFIG_FILE, yaml.safe_dump(data, sort_keys=False))

    # -- status ----------------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        """``status.json`` (empty when missing or unreadable: a status is advisory)."""
        path = self.root / STATUS_FILE
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def set_status(self, state: str, **fields: Any) -> None:
        data = {**self.status(), **redact(fields), "state": state, "updated": time.time()}
        data.setdefault("created", data["updated"])
        write_atomic(self.root / STATUS_FILE, json.dumps(data, indent=1, default=str))

    def update_status(self, **fields: Any) -> None:
        """Merge ``fields`` into the status, keeping its state."""
        data = {**self.status(), **redact(fields), "updated": time.time()}
        write_atomic(self.root / STATUS_FILE, json.dumps(data, indent=1, default=str))

    def requests_before(self) -> int:
        """Model requests sent by earlier processes of this run (the budget is per run).

        Raises:
            ConfigError: ``status.json`` holds something else than a count there.
        """
        value = self.status().get("requests_total") or 0
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise ConfigError(f"{self.root / STATUS_FILE}: requests_total must be a whole "
                              f"number >= 0 (the run's budget counts from it), got {value!r}")
        return value

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
    def results_path(self) -> Path:
        return self.root / RESULTS_FILE

    @property
    def results(self) -> ResultLog:
        """The results file, for reading (writers use the loop kit's ``RecordLog``)."""
        return ResultLog(self.results_path)

    def check_results(self) -> None:
        """Read the results file through, before a run resumes or is released from: a torn
        last line is fine (the writer repairs it), a broken line inside is not.

        Raises:
            FileError: the file is unreadable or a line inside it is broken (named).
        """
        for _ in self.results:
            pass

    def attach_log(self) -> logging.Handler:
        """Send valuegraph's log records to run.log, secrets masked."""
        handler = logging.FileHandler(self.root / "run.log", encoding="utf-8")
        handler.addFilter(RedactingFilter())
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        logging.getLogger("valuegraph").addHandler(handler)
        logging.getLogger("valuegraph").setLevel(logging.INFO)
        return handler


def list_runs(runs_dir: str | Path) -> list[tuple[str, dict[str, Any]]]:
    """(run_id, status) for every run under ``runs_dir``, oldest first.

    Raises:
        ConfigError: ``runs_dir`` does not exist or is not a directory.
    """
    root = Path(runs_dir)
    if not root.is_dir():
        what = "is not a directory" if root.exists() else "does not exist"
        raise ConfigError(f"runs directory {root} {what}")
    runs = [RunDir(p) for p in root.iterdir() if (p / CONFIG_FILE).is_file()]
    runs.sort(key=lambda r: r.status().get("created", 0))
    return [(r.run_id, r.status()) for r in runs]
