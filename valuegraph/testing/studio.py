"""``langgraph dev`` (what LangGraph Studio talks to) for tests: a temporary project serving the
given graphs from this repository on a free loopback port, as the README starts it (no
``--allow-blocking``: a blocking call on the event loop fails the run).

    with langgraph_dev({"denevil": "/repo/valuegraph/graphs/denevil/graph.py:graph"},
                       tmp_path) as url:
        client = langgraph_sdk.get_client(url=url)
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from valuegraph.testing.process import free_port

REPO = Path(__file__).resolve().parents[2]
"""The repository root: the project's one dependency, so the served graphs are this code."""
STUDIO_ENV = {"LANGGRAPH_CLI_NO_ANALYTICS": "1", "LANGGRAPH_NO_VERSION_CHECK": "true"}


class StudioError(RuntimeError):
    """``langgraph dev`` is missing, exited, or did not answer; the message holds its log."""


def langgraph_executable() -> str | None:
    """The ``langgraph`` command beside this Python (the studio extra), or None."""
    return shutil.which("langgraph", path=str(Path(sys.executable).parent))


def _wait_ready(url: str, process: subprocess.Popen, log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise StudioError(f"langgraph dev exited: {log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url + "/ok", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise StudioError(f"langgraph dev not ready after {timeout:.0f} s: "
                      f"{log.read_text()[-3000:]}")


@contextmanager
def langgraph_dev(graphs: Mapping[str, str], workdir: Path, *, timeout: float = 180.0,
                  env: Mapping[str, str] | None = None) -> Iterator[str]:
    """Serve ``graphs`` (graph id -> ``path/to/graph.py:graph``) with ``langgraph dev``;
    yields the server's URL and stops the server on exit.

    The project (``langgraph.json``, the server's ``.langgraph_api/`` state and
    ``langgraph-dev.log``) lives in ``workdir``.

    Raises:
        StudioError: langgraph-cli is not installed, or the server did not start.
    """
    executable = langgraph_executable()
    if executable is None:
        raise StudioError("langgraph-cli is not installed (pip install 'valuegraph[studio]')")
    project = Path(workdir) / "studio-project"
    project.mkdir(parents=True, exist_ok=True)
    (project / "langgraph.json").write_text(json.dumps(
        {"dependencies": [str(REPO)], "env": {}, "graphs": dict(graphs)}, indent=1))
    port = free_port()
    log = Path(workdir) / "langgraph-dev.log"
    with open(log, "w") as fh:
        process = subprocess.Popen(
            [executable, "dev", "--no-browser", "--no-reload", "--host", "127.0.0.1",
             "--port", str(port)],
            cwd=project, env={**os.environ, **STUDIO_ENV, **(env or {})}, stdout=fh,
            stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(url, process, log, timeout)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
