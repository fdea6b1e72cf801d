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
                 timeout_sleep: float = 30.0) -> LocalServer:
    cmd = [sys.executable, "-m", "valuegraph.testing.openai_server", "--port", "0",
           "--seed", str(seed), "--fault-rates", json.dumps(fault_rates or {}),
           "--timeout-sleep", str(timeout_sleep)]
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
