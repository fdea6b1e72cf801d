"""Start and stop the local test server in a subprocess (used by tests and benchmarks)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import urllib.request
from dataclasses import dataclass
from typing import Any


@dataclass
class LocalServer:
    """A running ``valuegraph.testing.openai_server`` on 127.0.0.1."""

    process: subprocess.Popen
    port: int

    @property
    def api_base(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def admin(self, **body: Any) -> dict[str, Any]:
        """POST /admin with ``body`` (faults, delay, reset, ...); GET when empty."""
        url = f"http://127.0.0.1:{self.port}/admin"
        data = json.dumps(body).encode() if body else None
        request = urllib.request.Request(url, data=data, method="POST" if body else "GET",
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


def start_server(rules: list[dict[str, Any]] | None = None,
                 fault_rates: dict[str, float] | None = None, seed: int = 0,
                 timeout_sleep: float = 30.0, echo_auth: bool = False) -> LocalServer:
    """Start the server; ``echo_auth`` makes it echo the Authorization header in replies and
    error bodies."""
    cmd = [sys.executable, "-m", "valuegraph.testing.openai_server", "--port", "0",
           "--seed", str(seed), "--fault-rates", json.dumps(fault_rates or {}),
           "--timeout-sleep", str(timeout_sleep), *(["--echo-auth"] if echo_auth else [])]
    if rules:
        fd, path = tempfile.mkstemp(suffix=".json")
        with os.fdopen(fd, "w") as fh:
            json.dump(rules, fh)
        cmd += ["--rules", path]
    process = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    line = process.stdout.readline() if process.stdout else ""
    if not line.startswith("PORT "):
        process.kill()
        raise RuntimeError(f"test server did not start: {line!r}")
    return LocalServer(process, int(line.split()[1]))


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_and_wait(cmd: list[str], port: int, *, name: str, timeout: float = 120.0,
                   path: str = "/") -> subprocess.Popen:
    """Start a server process and return once ``http://127.0.0.1:<port><path>`` answers.

    Any HTTP status counts as an answer. Raises RuntimeError (and kills the process) if it
    exits or stays silent for ``timeout`` seconds.
    """
    import time
    import urllib.error

    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=2)
            return proc
        except urllib.error.HTTPError:
            return proc
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited during start-up") from None
            time.sleep(0.3)
    proc.kill()
    raise RuntimeError(f"{name} did not answer within {timeout:.0f} s")
