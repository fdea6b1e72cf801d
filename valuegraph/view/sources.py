"""Read-only access to a runs directory: the runs, their records, benchmark outputs.

Nothing here writes. A run may still be writing while it is read: ``results.jsonl`` is read with
:class:`~valuegraph.tools.results.ResultLog` in reader mode (a torn last line, a record being
appended, is skipped), ``status.json`` and ``config.yaml`` are replaced atomically by the run,
and a file that cannot be parsed yet shows as a note on the page instead of an error. Each file
is parsed once per change: the parse is cached under its (size, mtime), so a page polled every
second re-reads only what changed.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import yaml

from valuegraph.config import ConfigError
from valuegraph.tools.files import FileError
from valuegraph.tools.results import ResultLog
from valuegraph.tools.rundir import CONFIG_FILE, RESULTS_FILE, STATUS_FILE, RunDir, check_run_id
from valuegraph.tools.rundir import list_runs as _list_runs

T = TypeVar("T")
SKIPPED_DIRS = frozenset({"cache", "bank", "exports", "checkpoints", "__pycache__"})
"""Sub-directories of a run that never hold benchmark outputs (and can be large)."""


class NotFound(LookupError):
    """No such run or benchmark output under the runs directory."""


@dataclass(frozen=True)
class RunInfo:
    """One row of the runs list."""

    run_id: str
    graph: str
    state: str
    note: str
    """Why the state may be stale (a "running" run whose process is gone) or the run's error."""
    models: dict[str, str]
    requests: int
    cache_hits: int
    cost: float
    created: float | None
    updated: float | None
    progress: str

    @property
    def live(self) -> bool:
        return self.state in ("created", "running", "awaiting_approval")


@dataclass
class Records:
    """A run's records as read now; ``error`` names a damaged line (records before it kept)."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None


@dataclass(frozen=True)
class BenchInfo:
    """A benchmark output directory: ``moral`` (bench moral) or ``values`` (bench values)."""

    path: str
    """Relative to the runs directory, with '/' separators: the page's id for it."""
    kind: str
    root: Path
    updated: float


def file_stamp(path: Path) -> tuple[int, int] | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    return stat.st_size, stat.st_mtime_ns


def process_alive(pid: Any) -> bool | None:
    """Whether ``pid`` runs on this machine (None: unknown)."""
    try:
        os.kill(int(pid), 0)
    except (TypeError, ValueError):
        return None
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def run_models(config: dict[str, Any], usage: dict[str, Any]) -> dict[str, str]:
    """role -> model spec of the roles the run used (all configured ones before any call).

    A growth run names its pools in ``params`` (explorers, respondents) rather than in the
    attacker / target roles, so those are shown when present.
    """
    models = {str(k): str(v) for k, v in (config.get("models") or {}).items()}
    if usage:
        models = {role: spec for role, spec in models.items() if role in usage}
    params = config.get("params") or {}
    for role, name in (("attacker", "explorers"), ("target", "respondents")):
        if isinstance(params.get(name), list):
            models.pop(role, None)
            if params[name]:
                models[name] = ", ".join(map(str, params[name]))
    return models


class Sources:
    """Everything the viewer reads, under one runs directory.

    Raises:
        ConfigError: the runs directory does not exist or is not a directory.
    """

    def __init__(self, root: str | Path):
        self.root = Path(root)
        _list_runs(self.root)  # the same check and message as `valuegraph runs`
        self._cache: dict[tuple[str, str], tuple[Any, Any]] = {}
        self._lock = threading.Lock()

    # -- cached parsing --------------------------------------------------------------------

    def cached(self, path: Path, what: str, parse: Callable[[Path], T],
               also: Sequence[Path] = ()) -> T:
        """``parse(path)``, computed again only when the size or mtime of ``path`` (or of a
        file in ``also``) changed."""
        stamp = tuple(file_stamp(p) for p in (path, *also))
        key = (str(path), what)
        with self._lock:
            hit = self._cache.get(key)
        if hit is not None and hit[0] == stamp:
            return hit[1]
        value = parse(path)
        with self._lock:
            self._cache[key] = (stamp, value)
        return value

    def version(self, paths: Iterable[Path]) -> str:
        """A token that changes when any of ``paths`` changes (the polling key)."""
        return "-".join(f"{s[0]}.{s[1]}" if s else "0" for s in map(file_stamp, paths))

    # -- runs ------------------------------------------------------------------------------

    def run_dir(self, run_id: str) -> RunDir:
        """The run ``run_id`` (one directory name under the root, nothing else).

        Raises:
            NotFound: a malformed id or no run there.
        """
        try:
            check_run_id(run_id)
        except ConfigError as exc:
            raise NotFound(str(exc)) from None
        root = self.root / run_id
        if not (root / CONFIG_FILE).is_file():
            raise NotFound(f"no run {run_id!r} under {self.root}")
        return RunDir(root)

    def status(self, run: RunDir) -> dict[str, Any]:
        return self.cached(run.root / STATUS_FILE, "status", lambda _: run.status())

    def config(self, run: RunDir) -> dict[str, Any]:
        """The run's config.yaml as written (not validated: the page shows what is there)."""
        def parse(path: Path) -> dict[str, Any]:
            try:
                data = yaml.safe_load(path.read_text(encoding="utf-8"))
            except (OSError, yaml.YAMLError):
                return {}
            return data if isinstance(data, dict) else {}

        return self.cached(run.root / CONFIG_FILE, "config", parse)

    def records(self, run: RunDir) -> Records:
        return self.cached(run.root / RESULTS_FILE, "records", read_records)

    def run_version(self, run: RunDir) -> str:
        root = run.root
        releases = root / "releases"
        extra = sorted(releases.iterdir()) if releases.is_dir() else []
        return self.version([root / STATUS_FILE, root / RESULTS_FILE, root / "topics.jsonl",
                             releases, *extra])

    def info(self, run_id: str, status: dict[str, Any]) -> RunInfo:
        run = RunDir(self.root / run_id)
        config = self.config(run)
        usage = status.get("usage") or {}
        state = str(status.get("state") or "unknown")
        note = str(status.get("error") or "")
        if state == "running" and process_alive(status.get("pid")) is False:
            note = f"process {status.get('pid')} is gone: `valuegraph resume {run_id}`"
        progress = status.get("progress") or {}
        line = progress.get("line", "") if isinstance(progress, dict) else ""
        return RunInfo(
            run_id=run_id, graph=str(status.get("graph") or config.get("graph") or ""),
            state=state, note=note, models=run_models(config, usage),
            requests=int(status.get("requests_total") or 0),
            cache_hits=int(status.get("cache_hits") or 0),
            cost=float(sum(float(u.get("cost_usd") or 0.0) for u in usage.values()
                           if isinstance(u, dict))),
            created=status.get("created"), updated=status.get("updated"), progress=line)

    def runs(self) -> list[RunInfo]:
        """Every run, newest first."""
        found = _list_runs(self.root)
        return [self.info(run_id, status) for run_id, status in reversed(found)]

    def runs_version(self) -> str:
        paths = [self.root]
        for entry in sorted(self.root.iterdir()):
            if (entry / CONFIG_FILE).is_file():
                paths.append(entry / STATUS_FILE)
        return self.version(paths)

    # -- benchmark outputs -----------------------------------------------------------------

    def benches(self) -> list[BenchInfo]:
        """``bench moral`` and ``bench values`` outputs: top-level directories, and those
        inside runs (the demo's ``bench/``, ``releases/<v>/profiles-<theory>``)."""
        found: list[BenchInfo] = []
        for entry in sorted(self.root.iterdir()):
            try:  # a directory may be removed while it is looked at
                if not entry.is_dir():
                    continue
                for path in self._bench_candidates(entry):
                    kind = bench_kind(path)
                    stamps = [file_stamp(p) for p in bench_files(path)]
                    if kind:
                        found.append(BenchInfo(path.relative_to(self.root).as_posix(), kind,
                                               path, max((s[1] / 1e9 for s in stamps if s),
                                                         default=0.0)))
            except OSError:
                continue
        return sorted(found, key=lambda b: -b.updated)

    @staticmethod
    def _bench_candidates(entry: Path) -> list[Path]:
        candidates = [entry]
        for child in sorted(entry.iterdir()):
            if child.is_dir() and child.name not in SKIPPED_DIRS:
                candidates.append(child)
        releases = entry / "releases"
        if releases.is_dir():
            for release in sorted(releases.iterdir()):
                if release.is_dir():
                    candidates.extend(sorted(p for p in release.iterdir() if p.is_dir()))
        return candidates

    def moral(self, bench: BenchInfo) -> Any:
        """A ``bench moral`` output, read again when its samples or CSV changed."""
        from valuegraph.view.bench import read_moral_bench

        return self.cached(bench.root / "samples.jsonl", "moral", lambda _: read_moral_bench(
            bench.root), also=[bench.root / "moral_scores.csv"])

    def values(self, bench: BenchInfo) -> Any:
        """A ``bench values`` output, read again when one of its files changed."""
        from valuegraph.view.bench import read_values_bench

        return self.cached(bench.root / "summary.json", "values", lambda _: read_values_bench(
            bench.root), also=[bench.root / "answers.jsonl", bench.root.parent /
                               "questions.jsonl"])

    def bench(self, path: str) -> BenchInfo:
        """A benchmark output by its page id.

        Raises:
            NotFound: not one of :meth:`benches` (nothing else under the root is served).
        """
        for bench in self.benches():
            if bench.path == path:
                return bench
        raise NotFound(f"no benchmark output {path!r} under {self.root}")


def bench_kind(path: Path) -> str | None:
    if (path / "moral_scores.csv").is_file() or (path / "samples.jsonl").is_file():
        return "moral"
    if (path / "summary.json").is_file() and (path / "profiles.csv").is_file():
        return "values"
    return None


def bench_files(path: Path) -> list[Path]:
    names = ("moral_scores.csv", "samples.jsonl", "summary.json", "profiles.csv",
             "answers.jsonl")
    return [path / n for n in names if (path / n).is_file()]


def read_records(path: Path) -> Records:
    """The complete records of a JSONL file (a torn last line skipped); a damaged line inside
    stops the read and is reported, the records before it are kept."""
    result = Records()
    try:
        for record in ResultLog(path):
            result.rows.append(record)
    except FileError as exc:
        result.error = str(exc)
    return result
